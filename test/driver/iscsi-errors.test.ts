// The storage manager's iSCSI failures as callers see them: each SR_BACKEND_FAILURE_<n> sm raises
// for a login, discovery or LUN problem (XE_SR_ERRORCODES.xml) maps to its stable code and
// status, keeps XAPI's code and params in `xapi_error`, and other sm numbers stay xapi_error.
import { toApiError } from '../../src/driver/errors';
import { XapiError } from '../../src/xapi/errors';

const cases: Array<[number, number, string]> = [
  [141, 502, 'iscsi_target_unreachable'],
  [83, 422, 'iscsi_target_not_found'],
  [84, 422, 'iscsi_target_not_found'],
  [96, 422, 'iscsi_target_not_found'],
  [106, 422, 'iscsi_target_not_found'],
  [68, 422, 'iscsi_login_failed'],
  [67, 404, 'iscsi_lun_not_found'],
  [107, 404, 'iscsi_lun_not_found'],
  [47, 502, 'xapi_error'],
];

test.each(cases)('SR_BACKEND_FAILURE_%i answers %i %s', (n, status, code) => {
  const params = ['', `sm error ${n}`, ''];
  const err = toApiError(new XapiError(`SR_BACKEND_FAILURE_${n}`, params, 'PBD.plug'));
  expect(err).toMatchObject({ status, code });
  expect(err.toJSON()).toMatchObject({
    type: `urn:xcd:error:${code}`,
    xapi_error: { code: `SR_BACKEND_FAILURE_${n}`, params },
  });
});
