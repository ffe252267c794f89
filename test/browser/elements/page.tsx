/// <reference lib="dom" />
// The Ory Elements React test page: renders Elements' own Login, Registration, Settings, Recovery or Verification card
// (`data-kind`) for the flow in `?flow=`, against the router mounted at the SDK URL the page names (`data-sdk`).
// Bundled by esbuild (test/browser/elements.ts).

import { Configuration, FrontendApi } from '@ory/client-fetch';
import { Login, Recovery, Registration, Settings, Verification } from '@ory/elements-react/theme';
import '@ory/elements-react/theme/styles.css';
import { createRoot } from 'react-dom/client';

type Kind = 'login' | 'registration' | 'settings' | 'recovery' | 'verification';
type LoginProps = Parameters<typeof Login>[0];
type RegistrationProps = Parameters<typeof Registration>[0];
type SettingsProps = Parameters<typeof Settings>[0];
type RecoveryProps = Parameters<typeof Recovery>[0];
type VerificationProps = Parameters<typeof Verification>[0];

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
      recovery_enabled: root.dataset.codes === 'true',
      verification_enabled: root.dataset.codes === 'true',
    },
  };
  const view = await card(kind, api, id, config);
  createRoot(root).render(view);
  root.dataset.rendered = 'true';
}

/** Elements' own card for the flow, fetched through Ory's SDK as Elements' apps do. */
async function card(kind: Kind, api: FrontendApi, id: string, config: LoginProps['config']) {
  switch (kind) {
    case 'login':
      return <Login flow={(await api.getLoginFlow({ id })) as unknown as LoginProps['flow']} config={config} />;
    case 'registration':
      return (
        <Registration
          flow={(await api.getRegistrationFlow({ id })) as unknown as RegistrationProps['flow']}
          config={config}
        />
      );
    case 'settings':
      return (
        <Settings flow={(await api.getSettingsFlow({ id })) as unknown as SettingsProps['flow']} config={config} />
      );
    case 'recovery':
      return (
        <Recovery flow={(await api.getRecoveryFlow({ id })) as unknown as RecoveryProps['flow']} config={config} />
      );
    case 'verification':
      return (
        <Verification
          flow={(await api.getVerificationFlow({ id })) as unknown as VerificationProps['flow']}
          config={config}
        />
      );
  }
}

main().catch((error: unknown) => {
  // A visible failure: the test reads it from the page.
  document.body.dataset.error = String(error instanceof Error ? error.stack : error);
  console.error(error);
});
