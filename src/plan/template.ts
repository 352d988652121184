import type { CacheSpec } from './schema.js';

/** Variables a plan's templates may use. */
export interface TemplateVars {
  cluster: string;
  version: string;
  cacheKey?: string;
}

/** A cache check with its placeholders ({{cluster}}, {{version}}, {{cacheKey}}) filled in. */
export function renderCacheCheck(check: CacheSpec['check'], vars: TemplateVars): CacheSpec['check'] {
  if (check.type === 'http') {
    const bodyContains = check.bodyContains === undefined ? undefined : renderTemplate(check.bodyContains, vars);
    return { ...check, url: renderTemplate(check.url, vars), bodyContains };
  }
  return { ...check, equals: renderTemplate(check.equals, vars) };
}

/** Replaces {{cluster}}, {{version}} and {{cacheKey}}; any other placeholder is an error, not left in place. */
export function renderTemplate(text: string, vars: TemplateVars): string {
  return text.replace(/\{\{\s*(\w+)\s*\}\}/g, (_, name: string) => {
    const value = (vars as unknown as Record<string, string | undefined>)[name];
    if (value === undefined) throw new Error(`unknown template variable {{${name}}} in "${text}"`);
    return value;
  });
}
