/// <reference lib="dom" />
// The Ory Elements React test page: renders Elements' own Login or Registration card for the flow in `?flow=`,
// against the router mounted at the SDK URL the page names (`data-sdk`). Bundled by esbuild (test/browser/elements.ts).

import { Configuration, FrontendApi } from '@ory/client-fetch';
import { Login, Registration } from '@ory/elements-react/theme';
import '@ory/elements-react/theme/styles.css';
import { createRoot } from 'react-dom/client';

type Kind = 'login' | 'registration';
type LoginProps = Parameters<typeof Login>[0];
type RegistrationProps = Parameters<typeof Registration>[0];

async function main(): Promise<void> {
  const root = document.getElementById('root');
  if (!root) throw new Error('no #root element');
  const kind = root.dataset.kind as Kind;
  const sdk = String(root.dataset.sdk);
  const id = new URLSearchParams(window.location.search).get('flow');
  // No flow yet: the router's browser init creates one and redirects back here with `?flow=<id>`.
  if (!id) {
    window.location.assign(`${sdk}/self-service/${kind}/browser`);
    return;
  }
  const api = new FrontendApi(
    new Configuration({ basePath: sdk, credentials: 'include', headers: { Accept: 'application/json' } }),
  );
  const ui = (path: string) => new URL(path, window.location.origin).href;
  const config: LoginProps['config'] = {
    sdk: { url: sdk },
    project: {
      name: 'Elements test',
      default_redirect_url: ui('/'),
      error_ui_url: ui('/ui/error'),
      login_ui_url: ui('/ui/login'),
      registration_ui_url: ui('/ui/registration'),
      recovery_ui_url: ui('/ui/recovery'),
      settings_ui_url: ui('/ui/settings'),
      verification_ui_url: ui('/ui/verification'),
      registration_enabled: true,
      recovery_enabled: false,
      verification_enabled: false,
    },
  };
  const view =
    kind === 'login' ? (
      <Login flow={(await api.getLoginFlow({ id })) as unknown as LoginProps['flow']} config={config} />
    ) : (
      <Registration
        flow={(await api.getRegistrationFlow({ id })) as unknown as RegistrationProps['flow']}
        config={config}
      />
    );
  createRoot(root).render(view);
  root.dataset.rendered = 'true';
}

main().catch((error: unknown) => {
  // A visible failure: the test reads it from the page.
  document.body.dataset.error = String(error instanceof Error ? error.stack : error);
  console.error(error);
});
