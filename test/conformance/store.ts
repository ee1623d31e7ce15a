/**
 * The store conformance suite: every store keycard ships runs these cases against its real backend. The
 * contract (src/core/store.ts) is a set of capabilities, and so is the suite: one sub-suite per
 * capability (logins.ts, users.ts, counters.ts, revocations.ts, clients.ts, audit.ts, tokens.ts,
 * factors.ts), and races.ts, which hammers single records with concurrent operations. A store passes
 * when it behaves exactly as the contract says.
 */
import { after, before, beforeEach, describe } from 'node:test';
import type { Store } from '../../src/core/store.js';
import { ManualClock } from '../helpers/clock.js';
import { describeAuditConformance } from './audit.js';
import { describeClientConformance } from './clients.js';
import { describeCounterConformance } from './counters.js';
import { describeFactorConformance } from './factors.js';
import type { Conformance, StoreFactory, StoreHarness } from './fixtures.js';
import { describeLoginConformance } from './logins.js';
import { describeRaceConformance } from './races.js';
import { describeRevocationConformance } from './revocations.js';
import { describeAccountTokenConformance } from './tokens.js';
import { describeUserConformance } from './users.js';

export {
  refreshFixture,
  type StoreFactory,
  type StoreHarness,
  sessionFixture,
  tokenLoginFixture,
  userFixture,
} from './fixtures.js';

export function describeStoreConformance(name: string, factory: StoreFactory): void {
  describe(`store conformance: ${name}`, () => {
    // Real time as the starting point: stores that hand expiry to their server (Redis PEXPIREAT, TTL
    // indexes) must not see records that expired months ago.
    const clock = new ManualClock(Date.now());
    let harness: StoreHarness | undefined;
    const ctx: Conformance = {
      clock,
      get harness(): StoreHarness {
        if (!harness) throw new Error('the store factory has not run');
        return harness;
      },
      get store(): Store {
        return this.harness.store;
      },
    };

    before(async () => {
      harness = await factory(clock);
    });
    after(async () => {
      await harness?.close();
    });
    beforeEach(async () => {
      await harness?.reset();
    });

    describeLoginConformance(ctx);
    describeUserConformance(ctx);
    describeCounterConformance(ctx);
    describeRevocationConformance(ctx);
    describeClientConformance(ctx);
    describeAuditConformance(ctx);
    describeAccountTokenConformance(ctx);
    describeFactorConformance(ctx);
    describeRaceConformance(ctx);
  });
}
