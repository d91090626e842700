/** The only stylesheet, served at /assets/style.css; a TypeScript module so the build needs no copy step. */
export const stylesheet = `
:root { color-scheme: light dark; --accent: #2d5bd7; --error: #b3261e; --muted: #666; }
* { box-sizing: border-box; }
body { font: 16px/1.5 system-ui, sans-serif; margin: 0; }
header { display: flex; gap: 1rem; align-items: center; flex-wrap: wrap; padding: .75rem 1.5rem; border-bottom: 1px solid #8884; }
header nav { display: flex; gap: 1rem; align-items: center; flex-wrap: wrap; margin-left: auto; }
.brand { font-weight: 700; text-decoration: none; color: inherit; }
.who { color: var(--muted); }
main { max-width: 46rem; margin: 1.5rem auto; padding: 0 1.5rem; }
.field { margin: 0 0 1rem; }
label { display: block; font-weight: 600; }
label.inline { display: inline; font-weight: 400; }
select { font: inherit; padding: .35rem; }
input[type=text], input[type=email], input[type=url], input[type=password], textarea { width: 100%; padding: .45rem .6rem; font: inherit; border: 1px solid #8888; border-radius: 4px; }
.has-error input, .has-error textarea { border-color: var(--error); }
.error { color: var(--error); margin: .25rem 0 0; }
.hint { color: var(--muted); margin: 0 0 .25rem; font-size: .9rem; }
button { font: inherit; padding: .45rem 1rem; border-radius: 4px; border: 1px solid var(--accent); background: var(--accent); color: #fff; cursor: pointer; }
button.secondary { background: transparent; color: var(--accent); }
form.inline { display: inline; }
table { width: 100%; border-collapse: collapse; margin: 1rem 0; }
th, td { text-align: left; padding: .4rem .5rem; border-bottom: 1px solid #8884; vertical-align: top; }
.notice { padding: .75rem 1rem; border-left: 4px solid var(--accent); background: #8881; margin: 1rem 0; }
.notice.error { border-color: var(--error); color: inherit; }
code.secret { display: block; padding: .75rem; font-size: 1.05rem; word-break: break-all; background: #8882; border-radius: 4px; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: .25rem 1rem; }
dt { font-weight: 600; }
dd { margin: 0; word-break: break-all; }
`;
