/**
 * The names keycard/verify exported before the framework middleware moved into the adapters (issue 14),
 * kept so existing apps keep working. Each is the adapter's function under its old name. This module is
 * the one place where keycard/verify imports an adapter (the adapters build on keycard/verify): the
 * wrappers read the adapters only when called, so the cycle is harmless whichever module loads first. It
 * goes with the next major version.
 */
import * as express from 'keycard/express';
import * as fastify from 'keycard/fastify';

/** @deprecated Use `verifyToken` from 'keycard/express'. */
export const verifyExpress: typeof express.verifyToken = (verifier) => express.verifyToken(verifier);

/** @deprecated Use `withToken` from 'keycard/express'. */
export const withTokenExpress: typeof express.withToken = (handler) => express.withToken(handler);

/** @deprecated Use `requireScope` from 'keycard/express'. */
export const requireScopeExpress: typeof express.requireScope = (...scopes) =>
  express.requireScope(...scopes);

/** @deprecated Use `VerifiedRequest` from 'keycard/express'. */
export type VerifiedExpressRequest = express.VerifiedRequest;

/** @deprecated Use `verifyToken` from 'keycard/fastify'. */
export const verifyFastify: typeof fastify.verifyToken = (verifier) => fastify.verifyToken(verifier);

/** @deprecated Use `withToken` from 'keycard/fastify'. */
export const withTokenFastify: typeof fastify.withToken = (handler) => fastify.withToken(handler);

/** @deprecated Use `requireScope` from 'keycard/fastify'. */
export const requireScopeFastify: typeof fastify.requireScope = (...scopes) =>
  fastify.requireScope(...scopes);

/** @deprecated Use `VerifiedRequest` from 'keycard/fastify'. */
export type VerifiedFastifyRequest = fastify.VerifiedRequest;
