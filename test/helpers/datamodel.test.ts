// The generated datamodel tables hold the classes, fields and messages the project relies on.
import { DATAMODEL, ENUMS } from '../../src/xapi/datamodel.generated';

describe('generated datamodel', () => {
  it('has the VM power states and the VM messages the driver uses', () => {
    expect(ENUMS.vm_power_state).toEqual(['Halted', 'Paused', 'Running', 'Suspended']);
    expect(DATAMODEL.VM.messages.start[0].map((p) => p[0])).toEqual(['vm', 'start_paused', 'force']);
    expect(DATAMODEL.VM.fields.power_state).toEqual(['enum vm_power_state', 'RO/constructor', 'Halted']);
  });
  it('marks optional parameters, as login_with_password has them', () => {
    const [params, , , takesSession] = DATAMODEL.session.messages.login_with_password;
    expect(takesSession).toBe(false);
    expect(params.map((p) => p[2])).toEqual([true, true, false, false]);
  });
});
