// The OpenNebula drivers (datastore, transfer manager, VMM) installed into a scratch folder and
// called exactly as OpenNebula 7 calls them: one_datastore.rb (`<action> <id>`, the Base64
// DS_DRIVER_ACTION_DATA on stdin), one_tm.rb (a transfer file's line as argv) and one_vmm_exec.rb
// in local mode (argv + `<vmid> <host>`, one Base64 line on stdin); with the XML documents
// oned writes. Shared by the OpenNebula storage and persistent image tests. Never a shell.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { INTEGRATIONS, install, run } from './orchestrator';

export const SOURCE = join(INTEGRATIONS, 'opennebula', 'remotes');
export const HOST = 'xen01';
export const IMAGE_DS = 100;
export const SYSTEM_DS = 0;

export const cdata = (s: string | number): string =>
  `<![CDATA[${String(s).replace(/]]>/g, ']]]]><![CDATA[>')}]]>`;
/** Elements with CDATA text, one per attribute. */
export const el = (attrs: Record<string, string | number>): string =>
  Object.entries(attrs)
    .map(([k, v]) => `<${k}>${cdata(v)}</${k}>`)
    .join('');
export const b64 = (s: string): string => Buffer.from(s).toString('base64');

export interface DriverResult {
  code: number | null;
  stdout: string;
  /** The ERROR/INFO/WARN/DEBUG lines oned logs from stderr. */
  logs: string[];
  /** Of those, the ERROR lines. */
  errors: string[];
  /** The other stderr lines, joined. */
  info: string;
}

export interface VmSpec {
  id: number;
  name?: string;
  lcm?: number;
  vcpu?: number;
  memory?: number;
  disks: Array<Record<string, string | number>>;
  nics?: Array<Record<string, string | number>>;
  context?: Record<string, string>;
}

/** The VM document oned hands the drivers. */
export function vmXml(vm: VmSpec): string {
  return (
    `<VM><ID>${vm.id}</ID><NAME>${cdata(vm.name ?? `vm-${vm.id}`)}</NAME><STATE>3</STATE><LCM_STATE>${vm.lcm ?? 3}</LCM_STATE>` +
    `<TEMPLATE>${el({ VCPU: vm.vcpu ?? 1, VCPU_MAX: 2, MEMORY: vm.memory ?? 512, MEMORY_MAX: 1024 })}` +
    vm.disks.map((d) => `<DISK>${el(d)}</DISK>`).join('') +
    (vm.nics ?? []).map((n) => `<NIC>${el(n)}</NIC>`).join('') +
    (vm.context ? `<CONTEXT>${el(vm.context)}</CONTEXT>` : '') +
    `</TEMPLATE><USER_TEMPLATE/></VM>`
  );
}

export const actionData = (vm: VmSpec, deployId = `one-${vm.id}`): string =>
  `<VMM_DRIVER_ACTION_DATA><HOST>${HOST}</HOST><MIGR_HOST/><DEPLOY_ID>${deployId}</DEPLOY_ID>` +
  `<LOCAL_DEPLOYMENT_FILE/><REMOTE_DEPLOYMENT_FILE/><CHECKPOINT_FILE/><TM_COMMAND/>${vmXml(vm)}` +
  `<DATASTORE><ID>${SYSTEM_DS}</ID></DATASTORE></VMM_DRIVER_ACTION_DATA>`;

/** A VM's folder in the system datastore, as the TM's paths name it. */
export const sysDir = (vmid: number): string =>
  `${HOST}:/var/lib/one/datastores/${SYSTEM_DS}/${vmid}`;

export interface OneDrivers {
  remotes: string;
  exec(file: string, args: string[], stdin?: string): Promise<DriverResult>;
  /** one_datastore.rb: `datastore/xcd/<action> <id>`, the Base64 message on stdin. */
  ds(
    action: string,
    id: number,
    image: Record<string, string | number>,
    template?: Record<string, string>,
  ): Promise<DriverResult>;
  /** one_tm.rb: a transfer file's line `<ACTION> xcd <args...>` runs `tm/xcd/<action> ...`. */
  tm(line: string): Promise<DriverResult>;
  /** one_vmm_exec.rb in local mode: argv + `<vmid> <host>`, one Base64 line on stdin. */
  vmm(action: string, args: string[], vm: VmSpec, stdinXml?: string): Promise<DriverResult>;
  /** deploy with the deployment file oned writes into the VM's folder (and its context.sh). */
  deploy(vm: VmSpec, contextSh?: string): Promise<DriverResult>;
}

/** Installs the drivers under `dir` (the shared REST client beside the VMM's programs) and
 * answers their runners, with `env` (the service's URL and token) for every call. */
export function oneDrivers(dir: string, env: () => Record<string, string>): OneDrivers {
  const remotes = join(dir, 'remotes');
  install(
    [
      [join(SOURCE, 'vmm', 'xcd'), join(remotes, 'vmm')],
      [join(SOURCE, 'datastore', 'xcd'), join(remotes, 'datastore')],
      [join(SOURCE, 'tm', 'xcd'), join(remotes, 'tm')],
    ],
    join(remotes, 'vmm', 'xcd'),
  );
  const exec = async (file: string, args: string[], stdin?: string): Promise<DriverResult> => {
    const res = await run(file, args, {
      env: env(),
      ...(stdin === undefined ? {} : { stdin }),
      cwd: dir,
      timeoutMs: 60_000,
    });
    const lines = res.stderr.split('\n').filter(Boolean);
    const logged = (l: string): boolean => /^(ERROR|INFO|WARN|DEBUG):/.test(l);
    const logs = lines.filter(logged);
    return {
      code: res.code,
      stdout: res.stdout,
      logs,
      errors: logs.filter((l) => l.startsWith('ERROR:')),
      info: lines.filter((l) => !logged(l)).join(' '),
    };
  };
  const vmm = (
    action: string,
    args: string[],
    vm: VmSpec,
    stdinXml = actionData(vm),
  ): Promise<DriverResult> =>
    exec(join(remotes, 'vmm', 'xcd', action), [...args, String(vm.id), HOST], b64(stdinXml));
  return {
    remotes,
    exec,
    ds(action, id, image, template = {}) {
      const imageXml = `<IMAGE>${el(image)}<TEMPLATE>${el(image.MD5 ? { MD5: image.MD5 } : {})}</TEMPLATE></IMAGE>`;
      const dsXml =
        `<DATASTORE><ID>${IMAGE_DS}</ID><NAME>xcd-images</NAME><DS_MAD>xcd</DS_MAD><TM_MAD>xcd</TM_MAD>` +
        `<TYPE>0</TYPE><BASE_PATH>/var/lib/one/datastores/${IMAGE_DS}</BASE_PATH><TEMPLATE>${el(template)}</TEMPLATE></DATASTORE>`;
      return exec(
        join(remotes, 'datastore', 'xcd', action),
        [String(id)],
        b64(`<DS_DRIVER_ACTION_DATA>${imageXml}${dsXml}</DS_DRIVER_ACTION_DATA>`),
      );
    },
    tm(line) {
      const [action, driver, ...args] = line.split(' ');
      if (driver !== 'xcd') throw new Error(`a transfer line of another driver: ${line}`);
      return exec(join(remotes, 'tm', 'xcd', action!.toLowerCase()), args);
    },
    vmm,
    deploy(vm, contextSh) {
      const vmDir = join(dir, 'vms', String(vm.id));
      mkdirSync(vmDir, { recursive: true });
      const dfile = join(vmDir, 'deployment.0');
      writeFileSync(dfile, vmXml(vm));
      if (contextSh !== undefined) writeFileSync(join(vmDir, 'context.sh'), contextSh);
      return vmm('deploy', [dfile, HOST], vm, vmXml(vm));
    },
  };
}
