// The widget's Pollen client: every call sends the app key, and the shopper's customer token when signed in.

export interface Session {
  token: string;
  expiresAt: number; // ms since epoch
  customerId: string;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly body: unknown,
  ) {
    super(`HTTP ${status}`);
  }
}

export interface Config {
  apiBase: string;
  appKey: string;
  /** Where the shopper's token comes from: the merchant's endpoint, or Shopify's App Proxy path. */
  tokenUrl: string | null;
  customerId: string | null;
}

/** `token-mode="app-proxy"` reads the token through Shopify's App Proxy (`proxy-path`, default
 * /apps/pollen/customer-token); otherwise `token-url` is the merchant's own endpoint. */
export function tokenSource(mode: string | null, tokenUrl: string | null, proxyPath: string | null): string | null {
  if (mode === "app-proxy") return proxyPath || "/apps/pollen/customer-token";
  return tokenUrl;
}

/** The `sub` of a customer token (a JWT): whom Pollen minted it for. */
export function subjectOf(token: string): string | null {
  try {
    const part = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    const claims = JSON.parse(atob(part + "===".slice((part.length + 3) % 4))) as { sub?: unknown };
    return typeof claims.sub === "string" ? claims.sub : null;
  } catch {
    return null;
  }
}

export class Client {
  private session: Session | null = null;
  private pendingSession: Promise<Session | null> | null = null;
  private trackingOff = false;

  constructor(readonly config: Config) {}

  /** The signed-in shopper's session from the merchant's token endpoint; null for a guest. */
  async signIn(): Promise<Session | null> {
    const { tokenUrl } = this.config;
    if (!tokenUrl) return null;
    if (this.session && this.session.expiresAt - Date.now() > 30_000) return this.session;
    this.pendingSession ??= (async () => {
      try {
        const response = await fetch(tokenUrl, { credentials: "same-origin", headers: { accept: "application/json" } });
        if (!response.ok) return null;
        const answer = (await response.json()) as { token?: string; expires_at?: string; customer_id?: string };
        const customerId = answer.customer_id ?? (answer.token ? subjectOf(answer.token) : null) ?? this.config.customerId;
        if (!answer.token || !customerId) return null;
        const expires = answer.expires_at ? Date.parse(answer.expires_at) : NaN;
        this.session = { token: answer.token, customerId: String(customerId), expiresAt: isNaN(expires) ? Date.now() + 300_000 : expires };
        return this.session;
      } catch {
        return null;
      } finally {
        this.pendingSession = null;
      }
    })();
    return this.pendingSession;
  }

  async call<T>(method: string, path: string, body?: unknown, extra: Record<string, string> = {}): Promise<T> {
    const headers: Record<string, string> = { "x-api-key": this.config.appKey, accept: "application/json", ...extra };
    const session = this.config.tokenUrl ? await this.signIn() : null;
    if (session) headers.authorization = `Bearer ${session.token}`;
    if (body !== undefined) headers["content-type"] = "application/json";
    const response = await fetch(this.config.apiBase.replace(/\/$/, "") + path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: "omit",
    });
    const text = await response.text();
    const data: unknown = text ? JSON.parse(text) : null;
    if (!response.ok) throw new ApiError(response.status, data);
    return data as T;
  }

  /** Like call, but a 404 (a route this Pollen does not have yet) answers null so the section hides. */
  async optional<T>(path: string): Promise<T | null> {
    try {
      return await this.call<T>("GET", path);
    } catch (error) {
      if (error instanceof ApiError && (error.status === 404 || error.status === 405)) return null;
      throw error;
    }
  }

  /** The merchant's widget settings; a Pollen without the route (404) means the defaults. */
  async settings(): Promise<Settings> {
    let answer: Partial<Settings> | null;
    try {
      answer = await this.call<Partial<Settings>>("GET", "/v1/widget/settings");
    } catch (error) {
      if (error instanceof ApiError && (error.status === 404 || error.status === 405)) return DEFAULT_SETTINGS;
      throw error;
    }
    return normalize(answer);
  }

  /** Report what only the widget sees; never throws, and stops trying once the route is missing. */
  track(type: string, customerId: string | null): void {
    if (this.trackingOff) return;
    const event: Record<string, string> = { id: uuid(), type, channel: "widget" };
    if (customerId) event.customer_id = customerId;
    this.call("POST", "/v1/events/track", { events: [event] }).catch((error: unknown) => {
      if (error instanceof ApiError && (error.status === 404 || error.status === 405)) this.trackingOff = true;
    });
  }
}

export function uuid(): string {
  if (typeof crypto.randomUUID === "function") return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/** GET /v1/widget/settings: the merchant's choices (dashboard "Widget" screen). */
export interface WidgetTexts {
  launcher?: string | null;
  title?: string | null;
  join_title?: string | null;
  join_text?: string | null;
}

export interface Settings {
  colors: { primary: string; text: string; background: string };
  launcher: { position: "bottom-left" | "bottom-right"; offset_x: number; offset_y: number };
  locales: string[];
  default_locale: string;
  texts: Record<string, WidgetTexts>;
  sections: { ways_to_earn: boolean; rewards: boolean; referral: boolean; tier: boolean; history: boolean };
}

export const DEFAULT_SETTINGS: Settings = {
  colors: { primary: "#5b3cc4", text: "#1f2328", background: "#ffffff" },
  launcher: { position: "bottom-right", offset_x: 20, offset_y: 20 },
  locales: ["en", "fr"],
  default_locale: "en",
  texts: {},
  sections: { ways_to_earn: true, rewards: true, referral: true, tier: true, history: true },
};

/** Settings as the widget can use them, whatever arrived (an older Pollen, a stale cached copy). */
export function normalize(answer: Partial<Settings> | null): Settings {
  const d = DEFAULT_SETTINGS;
  const hex = (v: unknown, fallback: string) => (typeof v === "string" && /^#[0-9a-fA-F]{6}$/.test(v) ? v : fallback);
  const colors = answer?.colors;
  const launcher = { ...d.launcher, ...answer?.launcher };
  return {
    colors: { primary: hex(colors?.primary, d.colors.primary), text: hex(colors?.text, d.colors.text), background: hex(colors?.background, d.colors.background) },
    launcher: {
      position: launcher.position === "bottom-left" ? "bottom-left" : "bottom-right",
      offset_x: Math.min(200, Math.max(0, Number(launcher.offset_x) || 0)),
      offset_y: Math.min(200, Math.max(0, Number(launcher.offset_y) || 0)),
    },
    locales: Array.isArray(answer?.locales) && answer.locales.length ? answer.locales : d.locales,
    default_locale: typeof answer?.default_locale === "string" ? answer.default_locale : d.default_locale,
    texts: answer?.texts && typeof answer.texts === "object" ? answer.texts : {},
    sections: { ...d.sections, ...answer?.sections },
  };
}

export interface PublicProgram {
  currency: string;
  earning: { coins_per_unit: string; unit_amount: string };
  triggers: { trigger_id: string; name: string | null; coins: number }[];
}

export interface Wallet {
  customer_id: string;
  balance: number;
  pending: number;
  currency: string;
  coin_value: string;
  balance_value: string;
  expiring: { coins: number; expires_on: string }[];
}

export interface Offer {
  reward_id: string;
  type: string;
  name: string;
  description: string | null;
  coins: number | null;
  value: string | null;
  coin_value: string | null;
  eligible: boolean;
  reason: string | null;
  allowed_coins: { min: number; max: number; step: number } | null;
}

export interface Redeemed {
  coupon: { code: string; coins: number; value: string | null; currency: string };
  balance: number;
}

export interface Entry {
  txn_id: string;
  type: string;
  operation: "credit" | "debit";
  coins: number;
  created_at: string;
  note: string | null;
}
