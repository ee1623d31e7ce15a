import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseDuration } from '../../src/core/duration.js';
import { expectKeycardError, thrown } from './support.js';

describe('parseDuration', () => {
  const valid: Array<[string, number]> = [
    ['1s', 1],
    ['90s', 90],
    ['15m', 900],
    ['24h', 86_400],
    ['7d', 604_800],
    ['30d', 2_592_000],
    ['3650d', 315_360_000],
    ['315360000s', 315_360_000],
  ];
  for (const [input, seconds] of valid) {
    test(`reads '${input}' as ${seconds} seconds`, () => {
      assert.equal(parseDuration(input, 'session.idleTimeout'), seconds);
    });
  }

  const refusedNonStrings: Array<[string, unknown]> = [
    ['a number', 900],
    ['zero', 0],
    ['null', null],
    ['undefined', undefined],
    ['an object', { minutes: 15 }],
  ];
  for (const [label, input] of refusedNonStrings) {
    test(`refuses ${label}, naming the option and showing the expected form`, () => {
      const error = expectKeycardError(
        thrown(() => parseDuration(input, 'session.idleTimeout')),
        'invalid_configuration',
      );
      assert.match(error.message, /^session\.idleTimeout must be a duration string such as '15m'/);
    });
  }

  const refusedStrings = [
    '0s',
    '15',
    '1.5h',
    '15 m',
    ' 15m',
    '15m ',
    'm',
    '',
    '-5m',
    '+5m',
    '015m',
    '15M',
    '1e3s',
    '15w',
    '15ms',
    '1h30m',
    '9999999999s',
    '3651d',
    '315360001s',
    '99999999999999999999d',
  ];
  for (const input of refusedStrings) {
    test(`refuses '${input}', naming the option and the value`, () => {
      const error = expectKeycardError(
        thrown(() => parseDuration(input, 'session.absoluteTimeout')),
        'invalid_configuration',
      );
      assert.match(error.message, /^session\.absoluteTimeout is '/);
      assert.ok(error.message.includes(`'${input}'`));
      assert.match(error.message, /such as '15m'/);
    });
  }
});
