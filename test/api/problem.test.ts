// The one error mapping: ApiError, XapiError (through the driver's table) and TransportError
// become complete problems (type, title, status, detail, code, xapi_error) built by the
// driver's problemBody, whose type and title follow the code alone; an operation's embedded
// error is completed the same way.
import type { Request } from 'express';
import { toProblem } from '../../src/api/problem';
import { renderOperation } from '../../src/api/render';
import { ApiError, problemBody } from '../../src/driver/errors';
import { TransportError, XapiError } from '../../src/xapi';

const req = { originalUrl: '/v1/instances/x', body: {} } as unknown as Request;

function xapiError(code: string, params: string[]): Error {
  const err = Object.create(XapiError.prototype) as XapiError;
  return Object.assign(err, { name: 'XapiError', message: code, code, params, method: 'VM.start' });
}

test('an ApiError keeps its status, code, detail and extra members', () => {
  const p = toProblem(
    new ApiError(404, 'instance_not_found', "instance 'x' not found", { extra: { id: 'x' } }),
    req,
  );
  expect(p).toEqual({
    type: 'urn:xcd:error:instance_not_found',
    title: 'Instance not found',
    status: 404,
    code: 'instance_not_found',
    detail: "instance 'x' not found",
    instance: '/v1/instances/x',
    id: 'x',
  });
});

test('VM_BAD_POWER_STATE becomes 409 invalid_power_state with the XAPI error (refs redacted)', () => {
  const p = toProblem(xapiError('VM_BAD_POWER_STATE', ['OpaqueRef:1', 'halted', 'running']), req);
  expect(p).toMatchObject({
    status: 409,
    code: 'invalid_power_state',
    title: 'Invalid power state',
    xapi_error: { code: 'VM_BAD_POWER_STATE', params: ['<ref>', 'halted', 'running'] },
  });
});

test('HOST_NOT_ENOUGH_FREE_MEMORY becomes 409 insufficient_memory', () => {
  const p = toProblem(xapiError('HOST_NOT_ENOUGH_FREE_MEMORY', ['1073741824', '1024']), req);
  expect(p).toMatchObject({
    status: 409,
    code: 'insufficient_memory',
    xapi_error: { code: 'HOST_NOT_ENOUGH_FREE_MEMORY' },
  });
});

test('an unknown XAPI error becomes 502 xapi_error', () => {
  expect(toProblem(xapiError('SOMETHING_NEW', ['a']), req)).toMatchObject({
    status: 502,
    code: 'xapi_error',
    xapi_error: { code: 'SOMETHING_NEW', params: ['a'] },
  });
});

test('a transport error becomes 503 xapi_unavailable', () => {
  const err = Object.assign(Object.create(TransportError.prototype) as TransportError, {
    name: 'TransportError',
    message: 'connect ECONNREFUSED',
    code: 'ECONNREFUSED',
  });
  expect(toProblem(err, req)).toMatchObject({ status: 503, code: 'xapi_unavailable' });
});

test('anything else is a 500 internal_error', () => {
  expect(toProblem(new Error('boom'), req)).toMatchObject({
    status: 500,
    code: 'internal_error',
    title: 'Internal error',
  });
});

test('problemBody fills type, title and detail from the code', () => {
  expect(problemBody({ status: 409, code: 'cancelled' })).toEqual({
    type: 'urn:xcd:error:cancelled',
    title: 'Cancelled',
    status: 409,
    code: 'cancelled',
    detail: 'Cancelled',
  });
});

test('a problem type has one title, whatever the status or a given title', () => {
  const tooLarge = problemBody({ status: 413, code: 'invalid_request', detail: 'too large' });
  const malformed = problemBody({ status: 400, code: 'invalid_request', title: 'Bad Request' });
  expect([tooLarge.title, malformed.title]).toEqual(['Invalid request', 'Invalid request']);
  expect(problemBody({ status: 502, code: 'xapi_error' }).title).toBe('XAPI error');
  expect(problemBody({ status: 404, code: 'sr_not_found' }).title).toBe('SR not found');
});

test('an ApiError and its HTTP problem are the same body', () => {
  const err = new ApiError(409, 'instance_busy', "instance 'x' is being built", {
    extra: { operation: 'op-1' },
  });
  expect(toProblem(err, req)).toEqual({ ...err.toJSON(), instance: '/v1/instances/x' });
});

test("an operation's error is completed before it is sent", () => {
  const op = renderOperation({
    id: 'op',
    kind: 'spawn',
    instance_id: 'i',
    status: 'failed',
    progress: 0.5,
    created_at: '2026-01-01T00:00:00Z',
    finished_at: '2026-01-01T00:00:01Z',
    error: { status: 404, code: 'template_not_found', detail: 'no template t' },
    result: null,
  });
  expect(op.error).toMatchObject({
    type: 'urn:xcd:error:template_not_found',
    title: 'Template not found',
    detail: 'no template t',
  });
});
