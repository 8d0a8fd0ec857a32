// Styles live inside each shadow root; `all: initial` on the host stops the page's inherited styles
// (font, colour, line height, letter spacing...) from reaching the widget.
export const BASE = `
:host { all: initial; display: block; }
:host([hidden]) { display: none !important; }
* { box-sizing: border-box; }
.root { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--pollen-text, #1f2328);
  letter-spacing: normal; text-transform: none; text-align: left; }
button { font: inherit; cursor: pointer; border-radius: 8px; border: 1px solid transparent; padding: 8px 14px; }
button:focus-visible, input:focus-visible, a:focus-visible { outline: 3px solid var(--pollen-accent); outline-offset: 2px; }
`;

export const REWARDS = `${BASE}
.launcher { position: fixed; bottom: 20px; z-index: 2147483000; background: var(--pollen-accent); color: #fff;
  border-radius: 999px; padding: 12px 18px; font-weight: 600; box-shadow: 0 4px 14px rgba(0,0,0,.25); }
.panel { position: fixed; bottom: 80px; z-index: 2147483001; width: 360px; max-width: calc(100vw - 16px);
  max-height: calc(100vh - 100px); overflow: auto; background: var(--pollen-bg, #fff); border-radius: 14px;
  box-shadow: 0 10px 40px rgba(0,0,0,.3); }
.panel.left { left: 8px; } .panel.right { right: 8px; }
@media (min-width: 420px) { .panel.left { left: 20px; } .panel.right { right: 20px; } }
header { display: flex; align-items: center; justify-content: space-between; padding: 14px 16px;
  background: var(--pollen-accent); color: #fff; border-radius: 14px 14px 0 0; }
h2 { font-size: 17px; margin: 0; font-weight: 700; }
h3 { font-size: 14px; margin: 0 0 8px; font-weight: 700; }
header button { background: transparent; color: #fff; border-color: rgba(255,255,255,.6); padding: 4px 10px; }
section { padding: 12px 16px; border-top: 1px solid #e6e8eb; }
.balance { font-size: 26px; font-weight: 800; margin: 0; }
.muted { color: var(--pollen-text, #1f2328); opacity: .8; margin: 2px 0; }
ul { list-style: none; margin: 0; padding: 0; }
li.offer { padding: 8px 0; border-bottom: 1px solid #f0f1f3; }
li.offer:last-child { border-bottom: 0; }
.row { display: flex; justify-content: space-between; align-items: center; gap: 8px; }
.primary { background: var(--pollen-accent); color: #fff; }
.secondary { background: var(--pollen-bg, #fff); color: var(--pollen-text, #1f2328); border-color: #8c959f; }
.primary[disabled] { background: #8c959f; cursor: not-allowed; }
input[type=range] { width: 100%; accent-color: var(--pollen-accent); }
input[type=text] { font: inherit; width: 100%; padding: 7px 8px; border: 1px solid #8c959f; border-radius: 6px; color: var(--pollen-text, #1f2328); background: var(--pollen-bg, #fff); }
.code { font: 700 18px/1.3 ui-monospace, Menlo, Consolas, monospace; background: #f6f8fa; padding: 6px 10px; border-radius: 6px; }
.notice { background: #eef6ee; border: 1px solid #4a8f4a; border-radius: 8px; padding: 10px; margin-top: 8px; }
.error { color: #a40e26; }
.bar { height: 8px; background: #e6e8eb; border-radius: 4px; overflow: hidden; }
.bar > span { display: block; height: 100%; background: var(--pollen-accent); }
a { color: var(--pollen-accent-text); }
`;

export const CART = `${BASE}
:host { display: inline-block; }
.root { font-size: 14px; color: #1f2328; }
strong { color: var(--pollen-accent-text); }
`;
