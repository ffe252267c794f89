// Deep checks of a JSON body against Ory's SDK models (`@ory/client-fetch`): the SDK's own `instanceOf*` guard for
// every object in it (they only check required keys, one level deep, so the walk goes down by hand), every enum
// value against the SDK's enum, every `*_at` a parseable date, and a FromJSON → ToJSON round trip (ToJSON throws on a
// date the SDK could not parse). `problems` lists what a client built on the SDK would trip over; [] is clean.

import {
  AuthenticatorAssuranceLevel,
  ContinueWithFromJSON,
  ContinueWithRecoveryUiActionEnum,
  ContinueWithRedirectBrowserToActionEnum,
  ContinueWithSetOrySessionTokenActionEnum,
  ContinueWithSettingsUiActionEnum,
  ContinueWithToJSON,
  ContinueWithVerificationUiActionEnum,
  DeleteMySessionsCountFromJSON,
  DeleteMySessionsCountToJSON,
  ErrorGenericFromJSON,
  ErrorGenericToJSON,
  FlowErrorFromJSON,
  FlowErrorToJSON,
  IdentityFromJSON,
  IdentityStateEnum,
  IdentityToJSON,
  instanceOfContinueWithRecoveryUi,
  instanceOfContinueWithRecoveryUiFlow,
  instanceOfContinueWithRedirectBrowserTo,
  instanceOfContinueWithSetOrySessionToken,
  instanceOfContinueWithSettingsUi,
  instanceOfContinueWithSettingsUiFlow,
  instanceOfContinueWithVerificationUi,
  instanceOfContinueWithVerificationUiFlow,
  instanceOfErrorGeneric,
  instanceOfFlowError,
  instanceOfGenericError,
  instanceOfIdentity,
  instanceOfLoginFlow,
  instanceOfLogoutFlow,
  instanceOfNeedsPrivilegedSessionError,
  instanceOfRecoveryFlow,
  instanceOfRecoveryIdentityAddress,
  instanceOfRegistrationFlow,
  instanceOfSession,
  instanceOfSessionAuthenticationMethod,
  instanceOfSessionDevice,
  instanceOfSettingsFlow,
  instanceOfSuccessfulNativeLogin,
  instanceOfSuccessfulNativeRegistration,
  instanceOfUiContainer,
  instanceOfUiNode,
  instanceOfUiNodeAnchorAttributes,
  instanceOfUiNodeInputAttributes,
  instanceOfUiNodeScriptAttributes,
  instanceOfUiNodeTextAttributes,
  instanceOfUiText,
  instanceOfVerifiableIdentityAddress,
  instanceOfVerificationFlow,
  LoginFlowActiveEnum,
  LoginFlowFromJSON,
  LoginFlowState,
  LoginFlowToJSON,
  LogoutFlowFromJSON,
  LogoutFlowToJSON,
  NeedsPrivilegedSessionErrorFromJSON,
  NeedsPrivilegedSessionErrorToJSON,
  RecoveryFlowFromJSON,
  RecoveryFlowState,
  RecoveryFlowToJSON,
  RegistrationFlowActiveEnum,
  RegistrationFlowFromJSON,
  RegistrationFlowState,
  RegistrationFlowToJSON,
  SelfServiceFlowExpiredErrorFromJSON,
  SelfServiceFlowExpiredErrorToJSON,
  SessionAuthenticationMethodMethodEnum,
  SessionFromJSON,
  SessionToJSON,
  SettingsFlowFromJSON,
  SettingsFlowState,
  SettingsFlowToJSON,
  SuccessfulNativeLoginFromJSON,
  SuccessfulNativeLoginToJSON,
  SuccessfulNativeRegistrationFromJSON,
  SuccessfulNativeRegistrationToJSON,
  UiNodeAnchorAttributesNodeTypeEnum,
  UiNodeGroupEnum,
  UiNodeInputAttributesAutocompleteEnum,
  UiNodeInputAttributesNodeTypeEnum,
  UiNodeInputAttributesOnclickTriggerEnum,
  UiNodeInputAttributesOnloadTriggerEnum,
  UiNodeInputAttributesTypeEnum,
  UiNodeScriptAttributesNodeTypeEnum,
  UiNodeTextAttributesNodeTypeEnum,
  UiNodeTypeEnum,
  UiTextTypeEnum,
  VerifiableIdentityAddressViaEnum,
  VerificationFlowFromJSON,
  VerificationFlowState,
  VerificationFlowToJSON,
} from '@ory/client-fetch';

/** The SDK models a body is checked as. */
export type Model =
  | 'LoginFlow'
  | 'RegistrationFlow'
  | 'SettingsFlow'
  | 'RecoveryFlow'
  | 'VerificationFlow'
  | 'SuccessfulNativeLogin'
  | 'SuccessfulNativeRegistration'
  | 'Session'
  | 'Session[]'
  | 'Identity'
  | 'LogoutFlow'
  | 'DeleteMySessionsCount'
  | 'ErrorGeneric'
  | 'SelfServiceFlowExpiredError'
  | 'NeedsPrivilegedSessionError'
  | 'FlowError';

type Json = Record<string, unknown>;
type Enum = Record<string, string>;

/** The SDK's catch-all for a value its enum does not know; never a value we may send. */
const UNKNOWN = '11184809';
const values = (e: Enum) => Object.values(e).filter((v) => v !== UNKNOWN);
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

// Flow `type` and the values the SDK leaves as strings but documents (Kratos's Go types): checked against those.
const FLOW_TYPES = ['api', 'browser'];
const ADDRESS_STATUS = ['pending', 'sent', 'completed'];
const RECOVERY_VIA = ['email', 'sms'];

class Walker {
  readonly problems: string[] = [];

  fail(where: string, what: string) {
    this.problems.push(`${where}: ${what}`);
  }

  guard(where: string, value: unknown, name: string, guard: (v: Json) => boolean): value is Json {
    if (!isObject(value)) {
      this.fail(where, `${name} expected, got ${JSON.stringify(value)}`);
      return false;
    }
    if (!guard(value)) this.fail(where, `fails instanceOf${name}: ${JSON.stringify(value).slice(0, 300)}`);
    return true;
  }

  oneOf(where: string, e: Enum | readonly string[], value: unknown, optional = false) {
    if (value === undefined && optional) return;
    const allowed = Array.isArray(e) ? e : values(e as Enum);
    if (typeof value !== 'string' || !allowed.includes(value)) {
      this.fail(where, `${JSON.stringify(value)} is not one of ${allowed.join('|')}`);
    }
  }

  /** Every `*_at` key (at any depth, outside free-form traits/context/payloads) must parse as a date. */
  dates(where: string, value: unknown) {
    if (Array.isArray(value)) {
      value.forEach((v, i) => {
        this.dates(`${where}[${i}]`, v);
      });
      return;
    }
    if (!isObject(value)) return;
    for (const [key, v] of Object.entries(value)) {
      if (['traits', 'context', 'transient_payload', 'metadata_public', 'metadata_admin', 'value'].includes(key)) {
        continue;
      }
      if (key.endsWith('_at') && v !== undefined && v !== null) {
        if (typeof v !== 'string' || Number.isNaN(new Date(v).getTime())) {
          this.fail(`${where}.${key}`, `not a date: ${JSON.stringify(v)}`);
        }
      } else {
        this.dates(`${where}.${key}`, v);
      }
    }
  }

  roundTrip(where: string, body: unknown, from: (j: never) => unknown, to: (v: never) => unknown) {
    try {
      to(from(body as never) as never);
    } catch (error) {
      this.fail(where, `FromJSON → ToJSON throws: ${String(error)}`);
    }
  }

  text(where: string, t: unknown) {
    if (!this.guard(where, t, 'UiText', instanceOfUiText)) return;
    if (typeof t.id !== 'number') this.fail(`${where}.id`, `not a number: ${JSON.stringify(t.id)}`);
    if (typeof t.text !== 'string') this.fail(`${where}.text`, 'not a string');
    this.oneOf(`${where}.type`, UiTextTypeEnum, t.type);
    if (t.context !== undefined && !isObject(t.context)) this.fail(`${where}.context`, 'not an object');
  }

  node(where: string, n: unknown) {
    if (!this.guard(where, n, 'UiNode', instanceOfUiNode)) return;
    this.oneOf(`${where}.type`, UiNodeTypeEnum, n.type);
    this.oneOf(`${where}.group`, UiNodeGroupEnum, n.group);
    if (!Array.isArray(n.messages)) this.fail(`${where}.messages`, 'not an array');
    else for (const [i, m] of n.messages.entries()) this.text(`${where}.messages[${i}]`, m);
    if (!isObject(n.meta)) this.fail(`${where}.meta`, 'not an object');
    else if (n.meta.label !== undefined) this.text(`${where}.meta.label`, n.meta.label);
    const a = n.attributes;
    if (!isObject(a)) {
      this.fail(`${where}.attributes`, 'not an object');
      return;
    }
    const at = `${where}.attributes`;
    if (a.node_type !== n.type) this.fail(`${at}.node_type`, `${String(a.node_type)} differs from type ${n.type}`);
    switch (a.node_type) {
      case 'input':
        this.guard(at, a, 'UiNodeInputAttributes', instanceOfUiNodeInputAttributes);
        this.oneOf(`${at}.node_type`, UiNodeInputAttributesNodeTypeEnum, a.node_type);
        this.oneOf(`${at}.type`, UiNodeInputAttributesTypeEnum, a.type);
        this.oneOf(`${at}.autocomplete`, UiNodeInputAttributesAutocompleteEnum, a.autocomplete, true);
        this.oneOf(`${at}.onclickTrigger`, UiNodeInputAttributesOnclickTriggerEnum, a.onclickTrigger, true);
        this.oneOf(`${at}.onloadTrigger`, UiNodeInputAttributesOnloadTriggerEnum, a.onloadTrigger, true);
        if (typeof a.disabled !== 'boolean') this.fail(`${at}.disabled`, 'not a boolean');
        if (typeof a.name !== 'string') this.fail(`${at}.name`, 'not a string');
        if (a.label !== undefined) this.text(`${at}.label`, a.label);
        break;
      case 'script':
        this.guard(at, a, 'UiNodeScriptAttributes', instanceOfUiNodeScriptAttributes);
        this.oneOf(`${at}.node_type`, UiNodeScriptAttributesNodeTypeEnum, a.node_type);
        if (typeof a.async !== 'boolean') this.fail(`${at}.async`, 'not a boolean');
        break;
      case 'text':
        this.guard(at, a, 'UiNodeTextAttributes', instanceOfUiNodeTextAttributes);
        this.oneOf(`${at}.node_type`, UiNodeTextAttributesNodeTypeEnum, a.node_type);
        this.text(`${at}.text`, a.text);
        break;
      case 'a':
        this.guard(at, a, 'UiNodeAnchorAttributes', instanceOfUiNodeAnchorAttributes);
        this.oneOf(`${at}.node_type`, UiNodeAnchorAttributesNodeTypeEnum, a.node_type);
        this.text(`${at}.title`, a.title);
        break;
      default:
        this.fail(`${at}.node_type`, `unknown ${JSON.stringify(a.node_type)}`);
    }
  }

  ui(where: string, ui: unknown) {
    if (!this.guard(where, ui, 'UiContainer', instanceOfUiContainer)) return;
    if (!['GET', 'POST'].includes(String(ui.method))) this.fail(`${where}.method`, String(ui.method));
    if (typeof ui.action !== 'string' || !URL.canParse(ui.action)) this.fail(`${where}.action`, 'not an absolute URL');
    if (ui.messages !== undefined) {
      if (!Array.isArray(ui.messages)) this.fail(`${where}.messages`, 'not an array');
      else for (const [i, m] of ui.messages.entries()) this.text(`${where}.messages[${i}]`, m);
    }
    if (!Array.isArray(ui.nodes)) this.fail(`${where}.nodes`, 'not an array');
    else for (const [i, n] of ui.nodes.entries()) this.node(`${where}.nodes[${i}]`, n);
  }

  continueWith(where: string, list: unknown) {
    if (list === undefined) return;
    if (!Array.isArray(list)) {
      this.fail(where, 'continue_with is not an array');
      return;
    }
    list.forEach((item, i) => {
      const w = `${where}[${i}]`;
      if (!isObject(item)) {
        this.fail(w, 'not an object');
        return;
      }
      switch (item.action) {
        case 'show_verification_ui':
          this.guard(w, item, 'ContinueWithVerificationUi', instanceOfContinueWithVerificationUi);
          this.oneOf(`${w}.action`, ContinueWithVerificationUiActionEnum, item.action);
          this.guard(
            `${w}.flow`,
            item.flow,
            'ContinueWithVerificationUiFlow',
            instanceOfContinueWithVerificationUiFlow,
          );
          break;
        case 'show_settings_ui':
          this.guard(w, item, 'ContinueWithSettingsUi', instanceOfContinueWithSettingsUi);
          this.oneOf(`${w}.action`, ContinueWithSettingsUiActionEnum, item.action);
          this.guard(`${w}.flow`, item.flow, 'ContinueWithSettingsUiFlow', instanceOfContinueWithSettingsUiFlow);
          break;
        case 'show_recovery_ui':
          this.guard(w, item, 'ContinueWithRecoveryUi', instanceOfContinueWithRecoveryUi);
          this.oneOf(`${w}.action`, ContinueWithRecoveryUiActionEnum, item.action);
          this.guard(`${w}.flow`, item.flow, 'ContinueWithRecoveryUiFlow', instanceOfContinueWithRecoveryUiFlow);
          break;
        case 'set_ory_session_token':
          this.guard(w, item, 'ContinueWithSetOrySessionToken', instanceOfContinueWithSetOrySessionToken);
          this.oneOf(`${w}.action`, ContinueWithSetOrySessionTokenActionEnum, item.action);
          break;
        case 'redirect_browser_to':
          this.guard(w, item, 'ContinueWithRedirectBrowserTo', instanceOfContinueWithRedirectBrowserTo);
          this.oneOf(`${w}.action`, ContinueWithRedirectBrowserToActionEnum, item.action);
          break;
        default:
          this.fail(`${w}.action`, `no ContinueWith model for ${JSON.stringify(item.action)}`);
      }
      this.roundTrip(w, item, ContinueWithFromJSON, ContinueWithToJSON);
    });
  }

  identity(where: string, identity: unknown) {
    if (!this.guard(where, identity, 'Identity', instanceOfIdentity)) return;
    this.oneOf(`${where}.state`, IdentityStateEnum, identity.state, true);
    if (identity.credentials !== undefined) this.fail(`${where}.credentials`, 'credentials must not be sent');
    const verifiable = identity.verifiable_addresses;
    if (verifiable !== undefined) {
      (Array.isArray(verifiable) ? verifiable : [verifiable]).forEach((a, i) => {
        const w = `${where}.verifiable_addresses[${i}]`;
        if (!this.guard(w, a, 'VerifiableIdentityAddress', instanceOfVerifiableIdentityAddress)) return;
        this.oneOf(`${w}.via`, VerifiableIdentityAddressViaEnum, a.via);
        this.oneOf(`${w}.status`, ADDRESS_STATUS, a.status);
        if (typeof a.verified !== 'boolean') this.fail(`${w}.verified`, 'not a boolean');
      });
    }
    const recovery = identity.recovery_addresses;
    if (recovery !== undefined) {
      (Array.isArray(recovery) ? recovery : [recovery]).forEach((a, i) => {
        const w = `${where}.recovery_addresses[${i}]`;
        if (!this.guard(w, a, 'RecoveryIdentityAddress', instanceOfRecoveryIdentityAddress)) return;
        this.oneOf(`${w}.via`, RECOVERY_VIA, a.via);
      });
    }
    this.roundTrip(where, identity, IdentityFromJSON, IdentityToJSON);
  }

  session(where: string, session: unknown) {
    if (!this.guard(where, session, 'Session', instanceOfSession)) return;
    this.oneOf(
      `${where}.authenticator_assurance_level`,
      AuthenticatorAssuranceLevel,
      session.authenticator_assurance_level,
    );
    if (typeof session.active !== 'boolean') this.fail(`${where}.active`, 'not a boolean');
    const methods = session.authentication_methods;
    if (!Array.isArray(methods)) this.fail(`${where}.authentication_methods`, 'not an array');
    else {
      methods.forEach((m, i) => {
        const w = `${where}.authentication_methods[${i}]`;
        if (!this.guard(w, m, 'SessionAuthenticationMethod', instanceOfSessionAuthenticationMethod)) return;
        this.oneOf(`${w}.method`, SessionAuthenticationMethodMethodEnum, m.method);
        this.oneOf(`${w}.aal`, AuthenticatorAssuranceLevel, m.aal);
      });
    }
    if (session.devices !== undefined) {
      if (!Array.isArray(session.devices)) this.fail(`${where}.devices`, 'not an array');
      else
        for (const [i, d] of session.devices.entries())
          this.guard(`${where}.devices[${i}]`, d, 'SessionDevice', instanceOfSessionDevice);
    }
    if (session.identity !== undefined) this.identity(`${where}.identity`, session.identity);
    this.roundTrip(where, session, SessionFromJSON, SessionToJSON);
  }

  genericError(where: string, body: unknown) {
    if (!this.guard(where, body, 'ErrorGeneric', instanceOfErrorGeneric)) return;
    const e = body.error;
    if (!this.guard(`${where}.error`, e, 'GenericError', instanceOfGenericError)) return;
    if (typeof e.id !== 'string') this.fail(`${where}.error.id`, 'not a string');
    if (typeof e.code !== 'number') this.fail(`${where}.error.code`, 'not a number');
    for (const key of ['status', 'reason', 'message']) {
      if (typeof e[key] !== 'string') this.fail(`${where}.error.${key}`, 'not a string');
    }
    if (e.details !== undefined) {
      if (!isObject(e.details)) this.fail(`${where}.error.details`, 'not an object');
      else this.continueWith(`${where}.error.details.continue_with`, e.details.continue_with);
    }
    this.roundTrip(where, body, ErrorGenericFromJSON, ErrorGenericToJSON);
  }

  flow(where: string, body: Json) {
    this.oneOf(`${where}.type`, FLOW_TYPES, body.type);
    this.ui(`${where}.ui`, body.ui);
    this.continueWith(`${where}.continue_with`, body.continue_with);
  }
}

/** What in `body` a client built on Ory's SDK would not accept as `model`; [] when it all fits. */
export function problems(model: Model, body: unknown): string[] {
  const w = new Walker();
  const at = model;
  w.dates(at, body);
  switch (model) {
    case 'LoginFlow':
      if (!w.guard(at, body, 'LoginFlow', instanceOfLoginFlow)) break;
      w.oneOf(`${at}.state`, LoginFlowState, body.state);
      w.oneOf(`${at}.active`, LoginFlowActiveEnum, body.active, true);
      w.oneOf(`${at}.requested_aal`, AuthenticatorAssuranceLevel, body.requested_aal, true);
      w.flow(at, body);
      w.roundTrip(at, body, LoginFlowFromJSON, LoginFlowToJSON);
      break;
    case 'RegistrationFlow':
      if (!w.guard(at, body, 'RegistrationFlow', instanceOfRegistrationFlow)) break;
      w.oneOf(`${at}.state`, RegistrationFlowState, body.state);
      w.oneOf(`${at}.active`, RegistrationFlowActiveEnum, body.active, true);
      w.flow(at, body);
      w.roundTrip(at, body, RegistrationFlowFromJSON, RegistrationFlowToJSON);
      break;
    case 'SettingsFlow':
      if (!w.guard(at, body, 'SettingsFlow', instanceOfSettingsFlow)) break;
      w.oneOf(`${at}.state`, SettingsFlowState, body.state);
      w.identity(`${at}.identity`, body.identity);
      w.flow(at, body);
      w.roundTrip(at, body, SettingsFlowFromJSON, SettingsFlowToJSON);
      break;
    case 'RecoveryFlow':
      if (!w.guard(at, body, 'RecoveryFlow', instanceOfRecoveryFlow)) break;
      w.oneOf(`${at}.state`, RecoveryFlowState, body.state);
      w.flow(at, body);
      w.roundTrip(at, body, RecoveryFlowFromJSON, RecoveryFlowToJSON);
      break;
    case 'VerificationFlow':
      if (!w.guard(at, body, 'VerificationFlow', instanceOfVerificationFlow)) break;
      w.oneOf(`${at}.state`, VerificationFlowState, body.state);
      w.flow(at, body);
      w.roundTrip(at, body, VerificationFlowFromJSON, VerificationFlowToJSON);
      break;
    case 'SuccessfulNativeLogin':
      if (!w.guard(at, body, 'SuccessfulNativeLogin', instanceOfSuccessfulNativeLogin)) break;
      w.session(`${at}.session`, body.session);
      w.continueWith(`${at}.continue_with`, body.continue_with);
      w.roundTrip(at, body, SuccessfulNativeLoginFromJSON, SuccessfulNativeLoginToJSON);
      break;
    case 'SuccessfulNativeRegistration':
      if (!w.guard(at, body, 'SuccessfulNativeRegistration', instanceOfSuccessfulNativeRegistration)) break;
      w.identity(`${at}.identity`, body.identity);
      if (body.session !== undefined) w.session(`${at}.session`, body.session);
      w.continueWith(`${at}.continue_with`, body.continue_with);
      w.roundTrip(at, body, SuccessfulNativeRegistrationFromJSON, SuccessfulNativeRegistrationToJSON);
      break;
    case 'Session':
      w.session(at, body);
      break;
    case 'Session[]':
      if (!Array.isArray(body)) w.fail(at, 'not an array');
      else for (const [i, s] of body.entries()) w.session(`${at}[${i}]`, s);
      break;
    case 'Identity':
      w.identity(at, body);
      break;
    case 'LogoutFlow':
      if (!w.guard(at, body, 'LogoutFlow', instanceOfLogoutFlow)) break;
      if (typeof body.logout_url !== 'string' || !URL.canParse(body.logout_url))
        w.fail(`${at}.logout_url`, 'not a URL');
      w.roundTrip(at, body, LogoutFlowFromJSON, LogoutFlowToJSON);
      break;
    case 'DeleteMySessionsCount':
      if (!isObject(body) || typeof body.count !== 'number') w.fail(`${at}.count`, 'not a number');
      w.roundTrip(at, body, DeleteMySessionsCountFromJSON, DeleteMySessionsCountToJSON);
      break;
    case 'ErrorGeneric':
      w.genericError(at, body);
      break;
    case 'SelfServiceFlowExpiredError':
      w.genericError(at, body);
      if (isObject(body) && typeof body.use_flow_id !== 'string') w.fail(`${at}.use_flow_id`, 'missing');
      w.roundTrip(at, body, SelfServiceFlowExpiredErrorFromJSON, SelfServiceFlowExpiredErrorToJSON);
      break;
    case 'NeedsPrivilegedSessionError':
      w.genericError(at, body);
      w.guard(at, body, 'NeedsPrivilegedSessionError', instanceOfNeedsPrivilegedSessionError);
      w.roundTrip(at, body, NeedsPrivilegedSessionErrorFromJSON, NeedsPrivilegedSessionErrorToJSON);
      break;
    case 'FlowError':
      if (!w.guard(at, body, 'FlowError', instanceOfFlowError)) break;
      if (isObject(body.error)) w.guard(`${at}.error`, body.error, 'GenericError', instanceOfGenericError);
      else w.fail(`${at}.error`, 'missing');
      w.roundTrip(at, body, FlowErrorFromJSON, FlowErrorToJSON);
      break;
  }
  return w.problems;
}
