// The storefront widget's look and words: colours, launcher position, languages and texts, sections.
// Read with its ETag, saved with If-Match (a concurrent change shows as a conflict); field errors inline.
import { useState } from "preact/hooks";
import { call } from "../api";
import { Check, Field, Notice, Section, Select, Show, useAction, useLoad, when } from "../ui";
import { Conflict } from "./settings";

const LOCALES: Array<[string, string]> = [
  ["en", "English"],
  ["fr", "French"],
];
const SECTIONS: Array<[keyof Settings["sections"], string]> = [
  ["ways_to_earn", "Ways to earn"],
  ["rewards", "Rewards"],
  ["referral", "Referral link"],
  ["tier", "Tier progress"],
  ["history", "Recent activity"],
];
const TEXTS: Array<[keyof Texts, string]> = [
  ["launcher", "Launcher label"],
  ["title", "Panel title"],
  ["join_title", "Title for guests"],
  ["join_text", "Text for guests"],
];

interface Texts {
  launcher?: string | null;
  title?: string | null;
  join_title?: string | null;
  join_text?: string | null;
}

interface Settings {
  colors: { primary: string; text: string; background: string };
  launcher: { position: string; offset_x: number; offset_y: number };
  locales: string[];
  default_locale: string;
  texts: Record<string, Texts>;
  sections: { ways_to_earn: boolean; rewards: boolean; referral: boolean; tier: boolean; history: boolean };
  version?: number;
  updated_at?: string | null;
}

export function Widget() {
  const loaded = useLoad(() => call<Settings>("GET", "/v1/admin/widget"), []);
  const [saved, setSaved] = useState<string>();
  return (
    <>
      <Section title="Storefront widget">
        <Show loaded={loaded}>
          {(reply) => (
            <WidgetForm
              key={reply.etag}
              settings={reply.data}
              etag={reply.etag ?? ""}
              onReload={loaded.reload}
              onSaved={() => {
                setSaved("Saved. Shops show the change within a minute.");
                loaded.reload();
              }}
              onEdit={() => setSaved(undefined)}
            />
          )}
        </Show>
        {saved && <Notice>{saved}</Notice>}
      </Section>
      <Section title="Embed">
        <p class="muted">Add this to the theme, before &lt;/body&gt; (the script URL is in the stack's outputs):</p>
        <pre class="json">{`<pollen-rewards app-key="YOUR_APP_KEY" api-base="https://YOUR_DASHBOARD_HOST"
  token-mode="app-proxy" proxy-path="/apps/pollen/customer-token"></pollen-rewards>
<script src="WidgetScriptUrl" async></script>`}</pre>
      </Section>
    </>
  );
}

function WidgetForm(props: { settings: Settings; etag: string; onReload: () => void; onSaved: () => void; onEdit: () => void }) {
  const [s, setS] = useState<Settings>(props.settings);
  const edit = (next: Settings) => {
    props.onEdit();
    setS(next);
  };
  const save = useAction(async () => {
    const { version: _v, updated_at: _u, ...body } = s;
    const texts = Object.fromEntries(
      Object.entries(body.texts)
        .filter(([locale]) => body.locales.includes(locale))
        .map(([locale, t]) => [locale, Object.fromEntries(Object.entries(t).filter(([, v]) => v))]),
    );
    await call("PUT", "/v1/admin/widget", { body: { ...body, texts }, ifMatch: props.etag });
    props.onSaved();
  });
  const colour = (name: keyof Settings["colors"], label: string) => (
    <Field label={label} type="color" value={s.colors[name]} onValue={(v) => edit({ ...s, colors: { ...s.colors, [name]: v } })} />
  );
  const offset = (name: "offset_x" | "offset_y", label: string) => (
    <Field
      label={label}
      type="number"
      min={0}
      max={200}
      value={String(s.launcher[name])}
      onValue={(v) => edit({ ...s, launcher: { ...s.launcher, [name]: Number(v) } })}
    />
  );
  return (
    <form
      onSubmit={(e) => {
        e.preventDefault();
        save.run();
      }}
    >
      <p class="muted">
        How the rewards launcher and panel look on the store. Version {s.version ?? "—"}, changed {when(s.updated_at ?? null)}.
      </p>
      <fieldset>
        <legend>Colours</legend>
        {colour("primary", "Primary colour")}
        {colour("text", "Text colour")}
        {colour("background", "Background colour")}
      </fieldset>
      <fieldset>
        <legend>Launcher</legend>
        <Select
          label="Position"
          value={s.launcher.position}
          onValue={(v) => edit({ ...s, launcher: { ...s.launcher, position: v } })}
          options={[
            ["bottom-right", "Bottom right"],
            ["bottom-left", "Bottom left"],
          ]}
        />
        {offset("offset_x", "Distance from the side (px)")}
        {offset("offset_y", "Distance from the bottom (px)")}
      </fieldset>
      <fieldset>
        <legend>Languages</legend>
        <p class="muted">Shoppers see the page's language (its &lt;html lang&gt;, else their browser's) when it is offered here.</p>
        {LOCALES.map(([code, name]) => (
          <Check
            key={code}
            label={`Offer ${name}`}
            checked={s.locales.includes(code)}
            onValue={(on) => edit({ ...s, locales: on ? [...s.locales, code] : s.locales.filter((l) => l !== code) })}
          />
        ))}
        <Select label="Default language" value={s.default_locale} onValue={(v) => edit({ ...s, default_locale: v })} options={LOCALES} />
      </fieldset>
      {LOCALES.filter(([code]) => s.locales.includes(code)).map(([code, name]) => (
        <fieldset key={code}>
          <legend>Texts in {name} (empty: the built-in text)</legend>
          {TEXTS.map(([field, label]) => (
            <Field
              key={field}
              label={`${label} (${code})`}
              value={s.texts[code]?.[field] ?? ""}
              onValue={(v) => edit({ ...s, texts: { ...s.texts, [code]: { ...s.texts[code], [field]: v } } })}
            />
          ))}
        </fieldset>
      ))}
      <fieldset>
        <legend>Sections</legend>
        {SECTIONS.map(([key, label]) => (
          <Check key={key} label={label} checked={s.sections[key]} onValue={(on) => edit({ ...s, sections: { ...s.sections, [key]: on } })} />
        ))}
      </fieldset>
      <button type="submit" disabled={save.busy}>
        {save.busy ? "Saving…" : "Save"}
      </button>
      <Conflict error={save.error} onReload={props.onReload} />
    </form>
  );
}
