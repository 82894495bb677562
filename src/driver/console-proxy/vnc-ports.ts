// The VNC listeners of the consoles handed out: one TCP listener per `vnc` console, on a port of
// the configured range (or any free port), open from the answer until the console is used or
// dropped. Owns binding and closing them; what a connection speaks is the proxy's.
import net from 'node:net';
import type { Duplex } from 'node:stream';
import { ApiError } from '../errors';

/** Ports `min`..`max` (both 0: any free port the system gives). */
export interface PortRange {
  min: number;
  max: number;
}

export class VncPorts {
  readonly #servers = new Map<object, net.Server>();
  /** Where the next search of the range starts (ports are handed out round the range). */
  #next = 0;

  constructor(
    private readonly host: string,
    private readonly range: PortRange,
  ) {}

  /** The host name a `vnc` answer gives: the bound address, or for a wildcard the host name the
   * caller reached the service by. */
  publicHost(reached: string): string {
    return this.host === '0.0.0.0' || this.host === '::' ? reached : this.host;
  }

  /** Listens for `owner` on a free port of the range; 503 console_ports_exhausted when none. */
  async open(owner: object, onSocket: (socket: Duplex) => void): Promise<number> {
    const { min, max } = this.range;
    const size = max - min + 1;
    for (let i = 0; i < size; i++) {
      const port = min === 0 && max === 0 ? 0 : min + ((this.#next + i) % size);
      const server = net.createServer({ noDelay: true }, onSocket);
      const bound = await new Promise<boolean>((resolve, reject) => {
        server.once('error', (err: NodeJS.ErrnoException) =>
          err.code === 'EADDRINUSE' || err.code === 'EACCES' ? resolve(false) : reject(err),
        );
        server.listen(port, this.host, () => resolve(true));
      });
      if (!bound) continue;
      this.#next = (this.#next + i + 1) % size;
      server.on('error', () => undefined);
      this.#servers.set(owner, server);
      return (server.address() as net.AddressInfo).port;
    }
    throw new ApiError(
      503,
      'console_ports_exhausted',
      `every console port (${min}-${max}) is taken; retry once a console is used or expires`,
    );
  }

  /** Stops listening for `owner` (connections already accepted go on). */
  release(owner: object): void {
    const server = this.#servers.get(owner);
    if (!server) return;
    this.#servers.delete(owner);
    server.close();
  }

  /** How many consoles listen now. */
  get listening(): number {
    return this.#servers.size;
  }

  async close(): Promise<void> {
    const servers = [...this.#servers.values()];
    this.#servers.clear();
    await Promise.all(servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
  }
}
