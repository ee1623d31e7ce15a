/** Floor: bare node:http answering the same JSON, with no authentication at all. */
import { createServer } from 'node:http';
import { BENCH_USER, listen } from './common.js';

const server = createServer((request, response) => {
  if (request.method === 'GET' && request.url === '/me') {
    response.writeHead(200, { 'content-type': 'application/json; charset=utf-8' });
    response.end(JSON.stringify({ user: BENCH_USER }));
    return;
  }
  response.writeHead(404).end();
});
listen(server);
