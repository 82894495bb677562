// `xcd images upload|import|list|show|download|delete|publish`: disk images over the REST API.
// Uploads and downloads stream the file (never read whole) with a byte progress bar on a
// terminal; --json for scripts. Never talks to XAPI.
import { createReadStream, createWriteStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Presets, SingleBar } from 'cli-progress';
import type { Command } from 'commander';
import type { Schemas } from '../client';
import { finishOperation, type WaitFlags } from './follow';
import {
  action,
  clientFrom,
  printJson,
  printTable,
  withClientOptions,
  type ClientFlags,
} from './output';

const FORMATS = ['raw', 'vhd', 'qcow2'];

/** The format a file's name says (.qcow2, .vhd, else raw), or the one given. */
function formatOf(file: string, given?: string): Schemas['ImageFormat'] {
  const f = given ?? (/\.qcow2$/i.test(file) ? 'qcow2' : /\.vhd$/i.test(file) ? 'vhd' : 'raw');
  if (!FORMATS.includes(f)) throw new Error(`--format must be one of ${FORMATS.join(', ')}`);
  return f as Schemas['ImageFormat'];
}

/** Counts the bytes passing through on a progress bar (on a terminal, without --json). */
function byteBar(label: string, total: number | undefined, flags: ClientFlags): Transform {
  const show = !flags.json && process.stderr.isTTY === true;
  const bar = show
    ? new SingleBar(
        {
          format: total
            ? `${label} [{bar}] {percentage}% {value}/{total} MiB`
            : `${label} {value} MiB`,
          stream: process.stderr,
          hideCursor: true,
        },
        Presets.shades_classic,
      )
    : undefined;
  const mib = (n: number): number => Math.round((n / 2 ** 20) * 10) / 10;
  bar?.start(total ? mib(total) : 0, 0);
  let seen = 0;
  return new Transform({
    transform(chunk: Buffer, _enc, done) {
      seen += chunk.length;
      bar?.update(mib(seen));
      done(null, chunk);
    },
    flush(done) {
      bar?.stop();
      done();
    },
    destroy(err, done) {
      bar?.stop();
      done(err);
    },
  });
}

export function registerImages(program: Command): void {
  const cmd = program
    .command('images')
    .description('upload, import, list, download and delete disk images');

  withClientOptions(
    cmd.command('upload <id> <file>').description('upload a disk image file (streamed)'),
  )
    .option('--format <format>', 'raw, vhd or qcow2 (default: from the file name)')
    .option('--name <name>', "the image's name (default: the id)")
    .option('--sr <uuid>', 'SR for the first copy')
    .option('--checksum <algo:hex>', 'md5:, sha256: or sha512: digest to check')
    .option('--no-wait', 'return the operation at once')
    .action(
      action(
        async (
          id: string,
          file: string,
          f: WaitFlags & { format?: string; name?: string; sr?: string; checksum?: string },
        ) => {
          const client = clientFrom(f);
          const { size } = await stat(file);
          const body: Readable = createReadStream(file).pipe(byteBar(`upload ${id}`, size, f));
          const op = await client.uploadImage(id, body, size, {
            format: formatOf(file, f.format),
            ...(f.name ? { name: f.name } : {}),
            ...(f.sr ? { sr: f.sr } : {}),
            ...(f.checksum ? { checksum: f.checksum } : {}),
            wait: 30,
          });
          await finishOperation(client, op, f, `image ${id} uploaded`);
        },
      ),
    );

  // --url names the image's source here: the service comes from --service or XCD_URL.
  cmd
    .command('import <id>')
    .description('have the service download an image from a URL')
    .requiredOption('--url <url>', 'http(s) URL of the image (on the service allow-list)')
    .option('--service <url>', 'service URL (env XCD_URL, default http://127.0.0.1:8780)')
    .option('--token <token>', 'bearer token (env XCD_TOKEN)')
    .option('--json', 'print JSON for scripts')
    .option('--format <format>', 'raw, vhd or qcow2 (default: from the URL)')
    .option('--name <name>', "the image's name")
    .option('--checksum <algo:hex>', 'md5:, sha256: or sha512: digest to check')
    .option('--no-wait', 'return the operation at once')
    .action(
      action(
        async (
          id: string,
          f: Omit<WaitFlags, 'url'> & {
            url: string;
            service?: string;
            format?: string;
            name?: string;
            checksum?: string;
          },
        ) => {
          const flags: WaitFlags = {
            ...(f.service ? { url: f.service } : {}),
            ...(f.token ? { token: f.token } : {}),
            ...(f.json ? { json: true } : {}),
            ...(f.wait === false ? { wait: false } : {}),
          };
          const client = clientFrom(flags);
          const op = await client.importImage(id, {
            source_url: f.url,
            format: formatOf(new URL(f.url).pathname, f.format),
            ...(f.name ? { name: f.name } : {}),
            ...(f.checksum ? { checksum: f.checksum } : {}),
          });
          await finishOperation(client, op, flags, `image ${id} imported`);
        },
      ),
    );

  withClientOptions(cmd.command('list').description('list the images you can use')).action(
    action(async (f: ClientFlags) => {
      const page = await clientFrom(f).listImages({ limit: 1000 });
      if (f.json) return printJson(page.items);
      printTable(
        ['ID', 'NAME', 'FORMAT', 'SIZE_MIB', 'STATUS', 'PUBLIC', 'SRS'],
        page.items.map((i) => [
          i.id,
          i.name,
          i.format,
          Math.round(i.virtual_size / 2 ** 20),
          i.status,
          i.public ? 'yes' : 'no',
          i.srs.length,
        ]),
      );
    }),
  );

  withClientOptions(cmd.command('show <id>').description('show one image')).action(
    action(async (id: string, f: ClientFlags) => {
      printJson(await clientFrom(f).getImage(id));
    }),
  );

  withClientOptions(
    cmd.command('download <id> <file>').description("write an image's bytes to a file"),
  )
    .option('--format <format>', 'raw (default), vhd or qcow2')
    .action(
      action(async (id: string, file: string, f: ClientFlags & { format?: string }) => {
        const format = f.format ? formatOf(file, f.format) : undefined;
        const { stream, length } = await clientFrom(f).downloadImage(id, format);
        await pipeline(stream, byteBar(`download ${id}`, length, f), createWriteStream(file));
        if (f.json) printJson({ id, file, bytes: (await stat(file)).size });
        else process.stdout.write(`image ${id} written to ${file}\n`);
      }),
    );

  withClientOptions(
    cmd.command('delete <id>').description('delete an image and its copies'),
  ).action(
    action(async (id: string, f: ClientFlags) => {
      await clientFrom(f).deleteImage(id);
      if (f.json) printJson(null);
      else process.stdout.write(`image ${id} deleted\n`);
    }),
  );

  withClientOptions(
    cmd.command('publish <id>').description('make an image visible to every namespace (admin)'),
  )
    .option('--private', 'make it private again')
    .action(
      action(async (id: string, f: ClientFlags & { private?: boolean }) => {
        const image = await clientFrom(f).setImagePublic(id, f.private !== true);
        if (f.json) printJson(image);
        else process.stdout.write(`image ${id} is ${image.public ? 'public' : 'private'}\n`);
      }),
    );
}
