/** Floor: Fastify answering the same JSON with no authentication (what keycard serve is built on). */
import Fastify from 'fastify';
import { announce, BENCH_USER } from './common.js';

const app = Fastify({ logger: false });
app.get('/me', async () => ({ user: BENCH_USER }));
const address = await app.listen({ port: 0, host: '127.0.0.1' });
announce(Number(new URL(address).port), () => app.close());
