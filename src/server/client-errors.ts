/** Requests Node's HTTP parser refuses, answered in keycard's error shape (they never reach a route). */
import { type ServerResponse, STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import { KeycardError } from 'keycard';

/**
 * Answers a request Node could not parse (it never reaches a route) in keycard's error shape: 431 for a
 * header section over the limit, 408 for a client too slow to send one, 400 otherwise. Never into a
 * response already under way on the connection (as Node's own handler): the client would read our
 * answer as garbage after it.
 */
export function answerClientError(maxHeaderBytes: number) {
  return (error: Error & { code?: string }, socket: Socket): void => {
    if (error.code === 'ECONNRESET' || socket.destroyed) return;
    // Node's private field for the response in flight on this socket (what its default handler checks).
    const inFlight = (socket as Socket & { _httpMessage?: ServerResponse | null })._httpMessage;
    if (error.code === 'HPE_CLOSED_CONNECTION') {
      // Bytes after a request that said `Connection: close` (such as an unframed body): that request is
      // answered as usual, the connection then closes, and the extra bytes are ignored.
      if (!inFlight) socket.destroy();
      return;
    }
    if (inFlight?.headersSent) {
      socket.destroy(error);
      return;
    }
    const failure =
      error.code === 'HPE_HEADER_OVERFLOW'
        ? new KeycardError(
            'header_too_large',
            `the request's headers are larger than ${maxHeaderBytes} bytes`,
          )
        : error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
          ? new KeycardError('request_timeout', 'the request took too long to arrive')
          : new KeycardError('invalid_request', 'the request is malformed');
    const { status } = failure;
    const body = JSON.stringify(failure.toJSON());
    if (socket.writable) {
      socket.write(
        `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Length: ${Buffer.byteLength(body)}\r\nContent-Type: application/json; charset=utf-8\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n${body}`,
      );
    }
    socket.destroy(error);
  };
}
