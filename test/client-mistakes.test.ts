/**
 * Issue 15, defect 6: a client's mistake is a 4xx with the JSON envelope naming what is wrong,
 * never a 500; and nothing of the SQL reaches the client.
 */
import fs from 'node:fs';
import zlib from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { databaseServers, startTestSandbox, type TestSandbox } from '../testing/index.ts';
import { probeModule } from './helpers/probe-module.ts';

const ADMIN = 'admin@sandbox.dev';
const ITEMS = '/api/plugins/items/items';
const RAW = '/api/plugins/items/probe/raw';

/** What must never appear in an answer: SQL, table names, Drizzle's wrapper, stack frames. */
const LEAKS = /INSERT|SELECT|items_probes|Failed query|params:|\bat \w+ \(|node_modules/;

describe.each(databaseServers())('client mistakes on $name PostgreSQL', (server) => {
  let dir: string;
  let t: TestSandbox;
  beforeAll(async () => {
    dir = probeModule();
    t = await startTestSandbox({ moduleDirs: [dir], serverUrl: server.url });
    await t.as(ADMIN, 'dev').post(RAW).send({ code: 'dup' }).expect(201);
  });
  afterAll(async () => {
    await t?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  /** POST `body` byte for byte: superagent would re-encode a Buffer sent as JSON. */
  const rawPost = (path: string, headers: Record<string, string>, body: Buffer) =>
    t.as(ADMIN, 'dev').post(path).set(headers).serialize(() => body as unknown as string).send(body as unknown as object);

  it.each([
    ['a number out of range', { small: 99999, code: 'a1' }, 400, 'VALUE_OUT_OF_RANGE'],
    ['a value too long', { code: 'abcdef' }, 400, 'VALUE_TOO_LONG'],
    ['text that is not a uuid', { code: 'a2', ref: 'not-a-uuid' }, 400, 'INVALID_VALUE_FORMAT'],
    ['text that is not a number', { small: 'twelve', code: 'a3' }, 400, 'INVALID_VALUE_FORMAT'],
    ['a date out of range', { code: 'a4', day: '2024-13-45' }, 400, 'INVALID_DATETIME'],
    ['a NUL character', { code: 'a\u0000' }, 400, 'INVALID_CHARACTER'],
    ['a duplicate of a unique value', { code: 'dup' }, 409, 'ALREADY_EXISTS'],
    ['a missing required value', { small: 1 }, 409, 'MISSING_VALUE'],
  ])("maps the database's refusal of %s from a plugin's own query to a 4xx naming it, without SQL", async (_what, body, status, code) => {
    const res = await t.as(ADMIN, 'dev').post(RAW).send(body).expect(status);
    expect(res.body.error).toMatchObject({ code, requestId: expect.any(String), sqlState: expect.stringMatching(/^2[23]/) });
    expect(JSON.stringify(res.body), 'the answer shows SQL or internals').not.toMatch(LEAKS);
  });

  it('names the column of a missing required value', async () => {
    const res = await t.as(ADMIN, 'dev').post(RAW).send({ small: 2 }).expect(409);
    expect(res.body.error.field).toBe('code');
  });

  it('answers a NUL in a body field with 400 and stores nothing', async () => {
    const res = await t.as(ADMIN, 'dev').post(ITEMS).send({ name: 'nul\u0000name' }).expect(400);
    expect(res.body.error.code).toBe('INVALID_CHARACTER');
    expect(await t.sql(`SELECT 1 FROM tenant_dev.items_items WHERE name LIKE 'nul%'`)).toEqual([]);
  });

  it.each(['%E0%A4%A', '%', '%zz', '%C0%80', 'a%2'])('answers the malformed percent-encoding %j in a path parameter with 400 INVALID_URL', async (bad) => {
    const res = await t.as(ADMIN, 'dev').get(`${ITEMS}/${bad}`).expect(400);
    expect(res.body.error).toMatchObject({ code: 'INVALID_URL', requestId: expect.any(String) });
  });

  it.each([
    ['gzip', 'not gzip at all', 400, 'INVALID_BODY'],
    ['deflate', 'not deflate either', 400, 'INVALID_BODY'],
    ['br', 'not brotli', 400, 'INVALID_BODY'],
    ['compress', 'whatever', 415, 'UNSUPPORTED_ENCODING'],
    ['gzip', zlib.gzipSync('{"name": ').toString('latin1'), 400, 'INVALID_JSON'],
  ])('answers a body that is not the %s its Content-Encoding claims (or not JSON) with a 4xx', async (encoding, body, status, code) => {
    const res = await rawPost(ITEMS, { 'Content-Type': 'application/json', 'Content-Encoding': encoding }, Buffer.from(body, 'latin1')).expect(status);
    expect(res.body.error.code).toBe(code);
  });

  it('accepts a body that is the gzip it claims', async () => {
    await rawPost(ITEMS, { 'Content-Type': 'application/json', 'Content-Encoding': 'gzip' }, zlib.gzipSync(JSON.stringify({ name: 'zipped' }))).expect(201);
  });

  it.each([
    ['no Content-Type', undefined, /no Content-Type was sent/],
    ['text/plain', 'text/plain', /got "text\/plain"/],
    ['a form', 'application/x-www-form-urlencoded', /got "application\/x-www-form-urlencoded"/],
    ['XML', 'application/xml', /got "application\/xml"/],
  ])('answers a POST body sent with %s with 415 naming the header', async (_what, type, message) => {
    const res = await rawPost(ITEMS, type ? { 'Content-Type': type } : {}, Buffer.from('{"name":"typed"}'));
    expect(res.status).toBe(415);
    expect(res.body.error).toMatchObject({ code: 'UNSUPPORTED_MEDIA_TYPE', header: 'Content-Type' });
    expect(res.body.error.message).toMatch(/Content-Type: application\/json/);
    expect(res.body.error.message).toMatch(message);
  });

  it('takes JSON with a charset or a +json type, and refuses another charset with 415', async () => {
    await t.as(ADMIN, 'dev').post(ITEMS).set('Content-Type', 'application/json; charset=utf-8').send('{"name":"utf8"}').expect(201);
    await t.as(ADMIN, 'dev').patch(`${ITEMS}/00000000-0000-4000-8000-000000000000`).set('Content-Type', 'application/merge-patch+json').send('{"name":"x"}').expect(404);
    const latin = await t.as(ADMIN, 'dev').post(ITEMS).set('Content-Type', 'application/json; charset=latin1').send('{"name":"x"}').expect(415);
    expect(latin.body.error.code).toBe('UNSUPPORTED_CHARSET');
  });

  it.each([[200], [302], [399], [600], [1000], [404.5], ['404'], [null]])("refuses ctx.httpError(%j, …) at the call: a JSON 500, never Express's HTML page", async (status) => {
    const res = await t.as(ADMIN, 'dev').get(`/api/plugins/items/probe/http-error?status=${encodeURIComponent(JSON.stringify(status))}`).expect(500);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    expect(res.body.error).toMatchObject({ code: 'INTERNAL', requestId: expect.any(String) });
    expect(res.text).not.toMatch(/<html|<pre>|TypeError/i);
  });

  it.each([[404], [409], [422], [503]])('answers ctx.httpError(%j, …) with that status', async (status) => {
    const res = await t.as(ADMIN, 'dev').get(`/api/plugins/items/probe/http-error?status=${status}`).expect(status);
    expect(res.body.error).toMatchObject({ code: 'PROBE', message: 'a probe error' });
  });
});
