import { InvalidArgumentError, Option, type Command } from 'commander';
import { loadConnectionSettings } from '@retain/infra';
import { connectTemporal } from '../connection';
import { BadInputError, log } from '../output';
import { uiBaseUrl } from '../ui';

/** `server`: the embedded Temporal server on its own, left running for workers, runs and the Web UI (`server-stop` stops it). */
export function addServerCommand(program: Command): void {
  program
    .command('server')
    .description('start the embedded Temporal server (or find it running) and leave it running; --ui serves its Web UI')
    .option('--ui', "serve Temporal's Web UI and print its URL")
    .addOption(uiPortOption())
    .action(async (opts: { ui?: boolean; uiPort?: number }) => {
      const settings = loadConnectionSettings();
      if (settings.address && !opts.ui) {
        throw new BadInputError(
          `${settings.addressSource ?? 'TEMPORAL_ADDRESS'} points at ${settings.address}: Retain uses that server and starts none; unset it to use the embedded one`,
        );
      }
      const temporal = await connectTemporal({ keepServer: true, log, ui: opts.ui ? { port: opts.uiPort } : undefined });
      await temporal.close();
      const { server } = temporal;
      log(`embedded Temporal server at ${server.address} (pid ${server.pid}); \`npx retain server-stop\` stops it`);
      const ui = uiBaseUrl(server);
      // stdout: what a script reads (the UI's URL with --ui, else the server's address).
      process.stdout.write(`${opts.ui && ui ? ui : server.address}\n`);
    });
}

/** `--ui-port`: where the Web UI listens (default: the server's gRPC port + 1000, as the temporal CLI; 0 picks a free port). */
export function uiPortOption(): Option {
  return new Option('--ui-port <port>', 'Web UI port (default: the server port + 1000; 0 picks a free one)').argParser((v) => {
    const port = Number(v);
    if (!Number.isInteger(port) || port < 0 || port > 65535)
      throw new InvalidArgumentError(`--ui-port must be a port number (0-65535), got '${v}'`);
    return port;
  });
}
