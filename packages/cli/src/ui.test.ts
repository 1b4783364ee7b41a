import { runUiLink, uiBaseUrl } from './ui';

describe('Web UI links', () => {
  it("use RETAIN_UI_URL when set, else the embedded server's UI, else none", () => {
    expect(uiBaseUrl({ uiUrl: 'http://127.0.0.1:8233' }, {})).toBe('http://127.0.0.1:8233');
    expect(uiBaseUrl({ uiUrl: 'http://127.0.0.1:8233' }, { RETAIN_UI_URL: 'https://cloud.temporal.io/' })).toBe(
      'https://cloud.temporal.io',
    );
    expect(uiBaseUrl({}, { RETAIN_UI_URL: '  ' })).toBeUndefined();
    expect(uiBaseUrl({}, {})).toBeUndefined();
  });

  it("name the run's page by namespace and workflow id, escaped", () => {
    expect(runUiLink('http://h:1', 'ns.acct', 'nightly-2026-12-05T03:00:00Z')).toBe(
      'http://h:1/namespaces/ns.acct/workflows/nightly-2026-12-05T03%3A00%3A00Z',
    );
  });
});
