import type { ConnectionSettings, DevServer } from '@retain/infra';
import { BadInputError } from './output';

/**
 * Links into Temporal's Web UI. The embedded dev server serves it when started with `--ui`
 * (`retain server --ui`, `retain dev --ui`; its URL is recorded in server.json, so later commands
 * know it); for any other server, RETAIN_UI_URL names its UI (e.g. http://temporal-ui.lab:8080,
 * or https://cloud.temporal.io for Temporal Cloud). Without either, no link is printed.
 */
export const UI_URL_VARIABLE = 'RETAIN_UI_URL';

/** The UI's base URL for this server: RETAIN_UI_URL when set, else the embedded server's UI if it has one. */
export function uiBaseUrl(server: Pick<DevServer, 'uiUrl'>, env: NodeJS.ProcessEnv = process.env): string | undefined {
  const configured = env[UI_URL_VARIABLE]?.trim();
  const base = configured || server.uiUrl;
  return base?.replace(/\/+$/, '');
}

/** The UI page of a run (the UI redirects to the run's latest execution, so continue-as-new does not break it). */
export function runUiLink(base: string, namespace: string, workflowId: string): string {
  return `${base}/namespaces/${encodeURIComponent(namespace)}/workflows/${encodeURIComponent(workflowId)}`;
}

/** The run's UI link on `server`, if a UI is known. */
export function runUiLinkOn(server: Pick<DevServer, 'uiUrl' | 'namespace'>, workflowId: string): string | undefined {
  const base = uiBaseUrl(server);
  return base === undefined ? undefined : runUiLink(base, server.namespace, workflowId);
}

/** `--ui` serves the embedded server's UI; a configured server's UI is its own. */
export function refuseUiWithRemoteServer(settings: ConnectionSettings): void {
  if (!settings.address) return;
  throw new BadInputError(
    `--ui starts the embedded Temporal server's Web UI, but ${settings.addressSource ?? 'TEMPORAL_ADDRESS'} points at ${settings.address}: ` +
      `open that server's own UI (set ${UI_URL_VARIABLE} to its URL and \`retain run\`/\`retain status\` print run links), or unset it to use the embedded server`,
  );
}

/** The embedded server already runs without its UI (started by `retain run` or `retain worker`): it cannot gain one. */
export function refuseHeadlessServer(server: Pick<DevServer, 'address' | 'pid'>): never {
  throw new BadInputError(
    `the embedded Temporal server at ${server.address} (pid ${server.pid}) already runs without its Web UI; ` +
      'stop it with `npx retain server-stop` (runs are kept in its database) and start it again with --ui',
  );
}
