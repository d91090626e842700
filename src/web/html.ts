/** HTML that is already escaped; only the `html` template and `raw` produce it. */
export class SafeHTML {
  constructor(readonly value: string) {}
  toString(): string {
    return this.value;
  }
}

/** Escapes text for use in HTML element content and quoted attribute values. */
export function escapeHTML(value: string): string {
  return value
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;')
    .replaceAll("'", '&#39;');
}

type Interpolation = SafeHTML | string | number | null | undefined | false | readonly Interpolation[];

/** Tagged template that escapes every interpolated value unless it is SafeHTML; arrays are joined. */
export function html(strings: TemplateStringsArray, ...values: Interpolation[]): SafeHTML {
  let output = strings[0] ?? '';
  values.forEach((value, index) => {
    output += render(value) + (strings[index + 1] ?? '');
  });
  return new SafeHTML(output);
}

/** Marks a constant string as safe HTML. Never pass user input. */
export function raw(value: string): SafeHTML {
  return new SafeHTML(value);
}

function render(value: Interpolation): string {
  if (value === null || value === undefined || value === false) return '';
  if (value instanceof SafeHTML) return value.value;
  if (Array.isArray(value)) return value.map((entry) => render(entry)).join('');
  return escapeHTML(String(value));
}
