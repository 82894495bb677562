// The one mapping of XAPI failures to API errors: each XAPI code a user can meet becomes its
// HTTP status and stable code, with XAPI's own error kept (refs and session ids redacted) and
// its figures parsed; nothing a caller sees carries a XAPI ref, a session id or URL credentials.
import { ApiError, isGone, toApiError } from '../../src/driver/errors';
import { OperationCancelled, StepFailure } from '../../src/driver/steps';
import { TransportError, XapiError } from '../../src/xapi';

const xe = (code: string, ...params: string[]): XapiError =>
  new XapiError(code, params, 'VM.start');

describe('driver error mapping', () => {
  it('maps VM_BAD_POWER_STATE to 409 invalid_power_state with the states', () => {
    const e = toApiError(xe('VM_BAD_POWER_STATE', 'OpaqueRef:1', 'halted, suspended', 'running'));
    expect(e).toMatchObject({ status: 409, code: 'invalid_power_state' });
    expect(e.extra).toEqual({
      expected_power_states: ['halted', 'suspended'],
      actual_power_state: 'running',
    });
    expect(e.xapi_error).toEqual({
      code: 'VM_BAD_POWER_STATE',
      params: ['<ref>', 'halted, suspended', 'running'],
    });
    expect(
      toApiError(xe('VM_BAD_POWER_STATE', 'r', 'paused;running', 'halted')).extra,
    ).toMatchObject({
      expected_power_states: ['paused', 'running'],
    });
  });

  it('maps HOST_NOT_ENOUGH_FREE_MEMORY to 409 insufficient_memory with the figures', () => {
    const e = toApiError(xe('HOST_NOT_ENOUGH_FREE_MEMORY', '4294967296', '1073741824'));
    expect(e).toMatchObject({ status: 409, code: 'insufficient_memory' });
    expect(e.extra).toEqual({ needed_bytes: 4294967296, available_bytes: 1073741824 });
  });

  it.each([
    ['HANDLE_INVALID', ['VM', 'OpaqueRef:x'], 404, 'not_found'],
    ['UUID_INVALID', ['VM', 'abc'], 404, 'not_found'],
    ['SR_FULL', ['100', '50'], 507, 'insufficient_storage'],
    [
      'OTHER_OPERATION_IN_PROGRESS',
      ['VM', 'OpaqueRef:1', 'clean_shutdown', 'OpaqueRef:t'],
      409,
      'operation_in_progress',
    ],
    ['OPERATION_BLOCKED', ['OpaqueRef:1', 'reason'], 409, 'operation_blocked'],
    ['OPERATION_NOT_ALLOWED', ['no'], 409, 'operation_not_allowed'],
    ['VM_IS_TEMPLATE', ['OpaqueRef:1', 'start'], 409, 'operation_not_allowed'],
    ['NO_HOSTS_AVAILABLE', [], 409, 'no_host_available'],
    ['VM_REQUIRES_SR', ['OpaqueRef:1', 'OpaqueRef:2'], 409, 'no_host_available'],
    ['VM_LACKS_FEATURE', ['OpaqueRef:1'], 409, 'guest_lacks_feature'],
    ['VDI_IN_USE', ['OpaqueRef:1', 'destroy'], 409, 'disk_in_use'],
    ['TASK_CANCELLED', ['OpaqueRef:t'], 409, 'cancelled'],
    ['MEMORY_CONSTRAINT_VIOLATION_ORDER', [], 422, 'invalid_value'],
    ['VM_SHUTDOWN_TIMEOUT', ['OpaqueRef:1', '60'], 504, 'shutdown_timeout'],
    ['LICENCE_RESTRICTION', ['feature'], 403, 'licence_restriction'],
    ['SESSION_INVALID', ['OpaqueRef:s'], 503, 'xapi_unavailable'],
    ['SOMETHING_NEW', ['a'], 502, 'xapi_error'],
  ])('maps %s to %i %s', (code, params, status, apiCode) => {
    const e = toApiError(xe(code as string, ...(params as string[])));
    const shown = (params as string[]).map((p) => (p.startsWith('OpaqueRef:') ? '<ref>' : p));
    expect(e).toMatchObject({ status, code: apiCode, xapi_error: { code, params: shown } });
    expect(e.toJSON()).toMatchObject({ type: `urn:xcd:error:${apiCode}`, status, code: apiCode });
  });

  it('maps transport failures to 503 xapi_unavailable (504 timeout when it timed out)', () => {
    expect(toApiError(new TransportError('ECONNREFUSED', 'connect refused'))).toMatchObject({
      status: 503,
      code: 'xapi_unavailable',
    });
    expect(toApiError(new TransportError('ETIMEDOUT', 'timed out'))).toMatchObject({
      status: 504,
      code: 'timeout',
    });
  });

  it('some problem details carry internal refs (OpaqueRef:...): none reach callers, nor session ids or URL credentials', () => {
    const session = 'OpaqueRef:6f2b1c9e-0d1a-4b7e-9a43-5c1d2e3f4a5b';
    const vmRef = 'OpaqueRef:0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d';
    const seen = [
      // XAPI's params, and the detail of a code the table does not know (params quoted).
      toApiError(xe('VM_BAD_POWER_STATE', vmRef, 'halted', 'running')),
      toApiError(xe('SOMETHING_NEW', vmRef, `session ${session}`)),
      toApiError(xe('OTHER_OPERATION_IN_PROGRESS', 'VM', vmRef, 'clean_shutdown', vmRef)),
      toApiError(new StepFailure('start', xe('VM_REQUIRES_SR', vmRef, vmRef), [])),
      // ApiErrors the driver built with a ref (the early power-state check does).
      toApiError(
        new ApiError(409, 'invalid_power_state', `VM ${vmRef} is halted`, {
          xapi_error: { code: 'VM_BAD_POWER_STATE', params: [vmRef, 'running', 'halted'] },
          extra: { nested: [{ ref: vmRef }] },
        }),
      ),
      // A session id in a console path, URL-encoded, and credentials in a URL.
      toApiError(new Error(`GET /console?session_id=${encodeURIComponent(session)} failed`)),
      toApiError(
        new TransportError('ECONNREFUSED', 'connect to http://root:s3cret@xapi:80 refused'),
      ),
    ].map((e) => JSON.stringify(e.toJSON()));
    for (const text of seen) {
      expect(text).not.toMatch(/OpaqueRef(:|%3A)(?!NULL)/i);
      expect(text).not.toContain(session.slice('OpaqueRef:'.length));
      expect(text).not.toContain('s3cret');
    }
    expect(JSON.parse(seen[0]).xapi_error.params).toEqual(['<ref>', 'halted', 'running']);
    expect(JSON.parse(seen[6]).detail).toBe(
      'XAPI is unreachable: connect to http://xapi:80 refused',
    );
    // A NULL ref names nothing and stays; clean errors are passed through as they are.
    expect(toApiError(xe('SOMETHING_NEW', 'OpaqueRef:NULL')).detail).toContain('OpaqueRef:NULL');
    const clean = new ApiError(404, 'instance_not_found', "instance 'x' not found");
    expect(toApiError(clean)).toBe(clean);
  });

  it('unwraps step failures, keeps ApiErrors and knows cancellations and gone objects', () => {
    const api = new ApiError(404, 'template_not_found', 'x');
    expect(toApiError(api)).toBe(api);
    expect(toApiError(new StepFailure('clone', xe('SR_FULL', '1', '0'), []))).toMatchObject({
      status: 507,
    });
    expect(toApiError(new OperationCancelled())).toMatchObject({ status: 409, code: 'cancelled' });
    expect(toApiError(new Error('boom'))).toMatchObject({ status: 500, code: 'internal_error' });
    expect(isGone(xe('HANDLE_INVALID', 'VM', 'r'))).toBe(true);
    expect(isGone(xe('VM_BAD_POWER_STATE'))).toBe(false);
  });
});
