/**
 * `chain()` mounts several middleware as one Express layer (the hot path walks fewer layers). It
 * must behave as Express would with the same middleware as separate layers: in order, and every
 * way a middleware can fail (a throw, a rejected promise, `next(error)`) reaching the error
 * handler with nothing after it run.
 */
import express, { type NextFunction, type Request, type RequestHandler, type Response } from 'express';
import request from 'supertest';
import { describe, expect, it } from 'vitest';
import { chain } from '../sandbox/http/chain.ts';

/** An app that serves `GET /` through `handlers` and answers what ran and what failed. */
function appWith(handlers: RequestHandler[]) {
  const app = express();
  app.use((req, _res, next) => {
    (req as Request & { ran: string[] }).ran = [];
    next();
  });
  app.use(chain(...handlers));
  app.get('/', (req, res) => {
    res.json({ ran: (req as Request & { ran: string[] }).ran });
  });
  app.use((error: Error, req: Request, res: Response, _next: NextFunction) => {
    res.status(500).json({ error: error.message, ran: (req as Request & { ran: string[] }).ran });
  });
  return app;
}

const step = (name: string): RequestHandler => (req, _res, next) => {
  (req as Request & { ran: string[] }).ran.push(name);
  next();
};

describe('chain', () => {
  it('runs the middleware in order, then the routes after it', async () => {
    const later: RequestHandler = (req, res, next) => void setTimeout(() => step('later')(req, res, next), 5);
    const { body } = await request(appWith([step('a'), later, step('b')])).get('/').expect(200);
    expect(body.ran).toEqual(['a', 'later', 'b']);
  });

  it('passes through with no middleware', async () => {
    const { body } = await request(appWith([])).get('/').expect(200);
    expect(body.ran).toEqual([]);
  });

  it.each([
    ['a throw', (() => {
      throw new Error('thrown');
    }) as RequestHandler, 'thrown'],
    ['a rejected promise', (async () => {
      throw new Error('rejected');
    }) as RequestHandler, 'rejected'],
    ['next(error)', ((_req: Request, _res: Response, next: NextFunction) => next(new Error('passed on'))) as RequestHandler, 'passed on'],
    ['next(error) later', ((_req: Request, _res: Response, next: NextFunction) => void setTimeout(() => next(new Error('later')), 5)) as RequestHandler, 'later'],
    ['a promise rejected with nothing', (() => Promise.reject(undefined)) as RequestHandler, 'Rejected promise'],
  ])('hands %s to the error handler and runs nothing after it', async (_how, failing, message) => {
    const { body } = await request(appWith([step('a'), failing, step('b')])).get('/').expect(500);
    expect(body).toEqual({ error: message, ran: ['a'] });
  });

  it('lets a middleware answer and stop the chain', async () => {
    const answer: RequestHandler = (_req, res) => void res.status(204).end();
    await request(appWith([answer, step('b')])).get('/').expect(204);
  });
});
