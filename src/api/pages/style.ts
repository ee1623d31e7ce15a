/** The one stylesheet, served from /assets/keycard.css (no inline styles, so CSP can forbid them). */
export const STYLESHEET = `
:root { color-scheme: light dark; --fg: #1d2228; --muted: #5d6772; --line: #d8dde3; --accent: #2456c7; --bg: #f6f7f9; --card: #fff; --bad: #b42318; }
@media (prefers-color-scheme: dark) { :root { --fg: #e6e9ed; --muted: #9aa4af; --line: #343b44; --accent: #7aa2ff; --bg: #14171b; --card: #1c2026; --bad: #ff8a80; } }
* { box-sizing: border-box; }
body { margin: 0; font: 16px/1.5 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--fg); background: var(--bg); }
header { display: flex; justify-content: space-between; align-items: center; padding: .75rem 1.5rem; border-bottom: 1px solid var(--line); background: var(--card); }
header nav { display: flex; gap: 1rem; align-items: center; }
header form { margin: 0; }
.brand { font-weight: 700; color: var(--fg); text-decoration: none; letter-spacing: .02em; }
main { max-width: 52rem; margin: 2rem auto; padding: 0 1.5rem; }
.card { background: var(--card); border: 1px solid var(--line); border-radius: .5rem; padding: 1.5rem; margin-bottom: 1.5rem; }
.narrow { max-width: 24rem; margin-left: auto; margin-right: auto; }
h1 { font-size: 1.4rem; margin: 0 0 1rem; }
h2 { font-size: 1.1rem; margin: 0 0 .75rem; }
label { display: block; margin: .75rem 0 .25rem; font-weight: 600; }
input[type=text], input[type=password], input[type=search], select { width: 100%; padding: .55rem .65rem; border: 1px solid var(--line); border-radius: .35rem; font: inherit; background: var(--bg); color: var(--fg); }
button { font: inherit; padding: .5rem 1rem; border-radius: .35rem; border: 1px solid var(--accent); background: var(--accent); color: #fff; cursor: pointer; }
button.secondary { background: transparent; color: var(--accent); }
button.danger { border-color: var(--bad); background: transparent; color: var(--bad); }
button.link { border: 0; background: none; color: var(--accent); padding: 0; }
.actions { margin-top: 1.25rem; display: flex; gap: .75rem; align-items: center; }
.error { color: var(--bad); border: 1px solid var(--bad); border-radius: .35rem; padding: .5rem .75rem; margin: 0 0 1rem; }
.notice { border: 1px solid var(--line); border-left: 4px solid var(--accent); border-radius: .35rem; padding: .75rem 1rem; margin: 0 0 1rem; }
code, pre { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; font-size: .9em; }
pre { background: var(--bg); padding: .5rem .75rem; border-radius: .35rem; white-space: pre-wrap; overflow-wrap: anywhere; }
table { width: 100%; border-collapse: collapse; }
th, td { text-align: left; padding: .5rem .4rem; border-bottom: 1px solid var(--line); vertical-align: top; }
th { font-size: .85rem; color: var(--muted); font-weight: 600; }
td form { margin: 0; }
td { overflow-wrap: anywhere; }
label.check { display: flex; gap: .5rem; align-items: center; font-weight: 400; }
.actions.wrap { flex-wrap: wrap; align-items: flex-start; }
details.confirm > summary { display: inline-block; list-style: none; cursor: pointer; font: inherit; padding: .5rem 1rem; border-radius: .35rem; border: 1px solid var(--bad); color: var(--bad); }
details.confirm > summary::-webkit-details-marker { display: none; }
details.confirm > summary:focus-visible { outline: 2px solid var(--accent); outline-offset: 2px; }
details.confirm[open] > summary { background: var(--bg); }
.confirm-body { margin-top: .5rem; padding: .75rem; border: 1px solid var(--bad); border-radius: .35rem; max-width: 24rem; }
.confirm-body p { margin: 0 0 .75rem; }
.visually-hidden { position: absolute; width: 1px; height: 1px; margin: -1px; padding: 0; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; border: 0; }
/* Narrow screens (a 390-px phone): less padding, and the sessions table stacks each session's cells. */
@media (max-width: 40rem) {
  header { padding: .75rem 1rem; }
  main { margin: 1rem auto; padding: 0 .75rem; }
  .card { padding: 1rem; }
  table.stack thead { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); }
  table.stack, table.stack tbody, table.stack tr, table.stack td { display: block; width: 100%; }
  table.stack tr { border-bottom: 1px solid var(--line); padding: .5rem 0; }
  table.stack td { border: 0; padding: .15rem 0; }
  table.stack td[data-label]::before { content: attr(data-label) ": "; color: var(--muted); font-size: .85rem; }
}
.muted { color: var(--muted); font-size: .9rem; }
.visually-hidden { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; }
form.inline { display: flex; flex-wrap: wrap; gap: .4rem; align-items: center; }
td button { white-space: nowrap; }
form.inline select { width: auto; }
form[role=search] { display: flex; flex-wrap: wrap; gap: .5rem; align-items: center; margin-bottom: 1rem; }
form[role=search] label { width: 100%; margin: 0; }
form[role=search] input { flex: 1; width: auto; }
details.confirm { margin-top: .4rem; }
details.confirm summary { cursor: pointer; color: var(--bad); }
details.confirm form { margin-top: .4rem; }
@media (max-width: 40rem) {
  table.users thead, table.audit thead { display: none; }
  table.users tr, table.audit tr { display: flex; flex-wrap: wrap; gap: .25rem .75rem; align-items: center; padding: .6rem 0; border-bottom: 1px solid var(--line); }
  table.users td, table.audit td { border: 0; padding: 0; }
  table.users td:first-child, table.audit td:first-child { width: 100%; font-weight: 600; }
  table.audit td:last-child { width: 100%; }
}
figure.chart { margin: 0; }
figure.chart svg { width: 100%; height: 6rem; display: block; border-bottom: 1px solid var(--line); }
figure.chart rect.ok { fill: var(--accent); }
figure.chart rect.bad { fill: var(--bad); }
figure.chart figcaption { margin-top: .5rem; font-size: .9rem; color: var(--muted); }
.key.ok { color: var(--accent); }
.key.bad { color: var(--bad); }
table.audit td { font-size: .9rem; }
table.audit td:last-child { overflow-wrap: anywhere; }
.tag { display: inline-block; font-size: .75rem; padding: 0 .4rem; border-radius: .25rem; border: 1px solid var(--line); color: var(--muted); }
`;
