// The one error mapping: ApiError, XapiError (through the driver's table) and TransportError
// become complete problems (type, title, status, detail, code, xapi_error), validator errors
// name their fields, and an operation's embedded error is completed the same way.
import type { Request } from 'express';
import { toProblem, completeProblem } from '../../src/api/problem';
import { renderOperation } from '../../src/api/render';
import { ApiError } from '../../src/driver/errors';
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
    title: 'Not Found',
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
    title: 'Conflict',
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
    title: 'Internal Server Error',
  });
});

test('completeProblem fills type, title and detail', () => {
  expect(completeProblem({ status: 409, code: 'cancelled' })).toEqual({
    type: 'urn:xcd:error:cancelled',
    title: 'Conflict',
    status: 409,
    code: 'cancelled',
    detail: 'Conflict',
  });
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
    title: 'Not Found',
    detail: 'no template t',
  });
});
