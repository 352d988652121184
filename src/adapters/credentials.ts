/**
 * The worker's credentials, declared by whoever runs the worker, each bound to the URLs it may be sent to
 * (as git's `credential.<url>` and Argo CD's repository credentials bind theirs). A plan names a credential
 * by its name only: it cannot choose which of the worker's secrets goes where, and the worker refuses to
 * send one to a URL outside its prefix, saying which. The same file names the folder notification sinks'
 * URL files are read from, so a plan cannot make the worker read any other file.
 *
 * The file (ROLLOUT_CREDENTIALS, YAML):
 *
 *   credentials:
 *     - name: config-repo                        # what plans say: spec.source.git.credential
 *       url: https://git.example.com/platform/   # the only URLs it is sent to (scheme, host, port, path prefix)
 *       username: x-access-token                 # optional, the default
 *       tokenFile: /run/secrets/config-repo      # or tokenEnv: CONFIG_REPO_TOKEN (read when used)
 *   sinkUrlFolder: /run/secrets/rollout-sinks    # a sink's urlFrom.file is a file name in this folder
 *   chartRepositories:                           # found by the chart's location; plans never name them
 *     - name: platform-charts                    # named in messages (never the password)
 *       url: oci://registry.example.com/charts   # oci://HOST[:PORT][/PATH] or http(s):// repository prefix
 *       username: robot                          # with passwordEnv or passwordFile
 *       passwordFile: /run/secrets/charts-password
 *       caFile: /run/secrets/charts-ca.crt        # optional: a private CA; certFile + keyFile: a client cert
 *       plainHttp: true                          # optional, oci:// only: the registry speaks plain HTTP
 */
import { readFileSync } from 'node:fs';
import { access, constants, readFile, realpath } from 'node:fs/promises';
import { join, sep } from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { FailureType } from '../domain/failure-types.js';
import { Name } from '../plan/schema.js';

const envName = /^[A-Za-z_][A-Za-z0-9_]*$/;

const Credential = z
  .strictObject({
    name: Name,
    url: z.string().refine((u) => prefixProblem(u) === undefined, {
      error: (issue) => prefixProblem(String(issue.input)) ?? 'is not a URL prefix',
    }),
    username: z.string().min(1).default('x-access-token'),
    tokenEnv: z.string().regex(envName, 'must be an environment variable name').optional(),
    tokenFile: z.string().min(1).optional(),
  })
  .refine((c) => (c.tokenEnv === undefined) !== (c.tokenFile === undefined), {
    message: 'set exactly one of tokenEnv or tokenFile',
  });

/**
 * How the worker reaches a chart repository or registry: what applies to every chart under `url` (the
 * longest matching prefix wins, as git's `credential.<url>` does). Unlike a git credential, a plan does not
 * name it: a plan names its chart and repository, and the worker brings what that location needs.
 */
const ChartRepository = z
  .strictObject({
    name: Name,
    url: z.string().refine((u) => chartPrefixProblem(u) === undefined, {
      error: (issue) => chartPrefixProblem(String(issue.input)) ?? 'is not a URL prefix',
    }),
    username: z.string().min(1).optional(),
    passwordEnv: z.string().regex(envName, 'must be an environment variable name').optional(),
    passwordFile: z.string().min(1).optional(),
    caFile: z.string().min(1).optional(),
    certFile: z.string().min(1).optional(),
    keyFile: z.string().min(1).optional(),
    plainHttp: z.boolean().optional(),
  })
  .refine((r) => r.passwordEnv === undefined || r.passwordFile === undefined, {
    message: 'set at most one of passwordEnv or passwordFile',
  })
  .refine((r) => (r.username === undefined) === (r.passwordEnv === undefined && r.passwordFile === undefined), {
    message: 'a username needs a passwordEnv or passwordFile, and a password needs a username',
  })
  .refine((r) => (r.certFile === undefined) === (r.keyFile === undefined), {
    message: 'a client certificate needs both certFile and keyFile',
  })
  .refine((r) => !r.plainHttp || r.url.startsWith('oci://'), {
    message: 'plainHttp is for oci:// registries; a classic repository says http:// in its URL',
  });

const CredentialsFile = z.strictObject({
  credentials: z.array(Credential).default([]),
  sinkUrlFolder: z.string().min(1).optional(),
  chartRepositories: z.array(ChartRepository).default([]),
});

export type Credential = z.infer<typeof Credential>;
type ChartRepository = z.infer<typeof ChartRepository>;

/** What Helm needs for one chart location, with the password read when it is used. */
export interface ChartRepositoryAccess {
  /** The entry's name, for messages. */
  name: string;
  /** The entry's URL prefix. */
  url: string;
  /** Where the entry was declared, for messages. */
  origin: string;
  username?: string;
  password?: string;
  caFile?: string;
  certFile?: string;
  keyFile?: string;
  plainHttp?: boolean;
}

/** The worker's chart repository settings, as the Helm adapter asks for them: by the chart's location. */
export interface ChartRepositories {
  /** Where they were declared ("ROLLOUT_CREDENTIALS (/path)", or that there is no such file). */
  readonly origin: string;
  /** The settings for an oci:// reference or a repository URL, undefined when none applies. */
  chartRepository(location: string): Promise<ChartRepositoryAccess | undefined>;
}

function chartPrefixProblem(prefix: string): string | undefined {
  let u: URL;
  try {
    u = new URL(prefix);
  } catch {
    return 'must be a URL such as oci://registry.example.com/charts or https://charts.example.com/';
  }
  if (u.protocol !== 'https:' && u.protocol !== 'http:' && u.protocol !== 'oci:')
    return 'must be an oci://, http:// or https:// URL';
  if (!u.host) return 'must name a host';
  if (u.username || u.password) return 'must not carry credentials (give username and passwordEnv or passwordFile)';
  if (u.search || u.hash) return 'must not have a query or fragment';
  return undefined;
}

function prefixProblem(prefix: string): string | undefined {
  let u: URL;
  try {
    u = new URL(prefix);
  } catch {
    return 'must be a URL such as https://git.example.com/platform/';
  }
  if (u.protocol !== 'https:' && u.protocol !== 'http:')
    return 'must be an http:// or https:// URL (a token is an HTTP header)';
  if (u.username || u.password) return 'must not carry credentials';
  if (u.search || u.hash) return 'must not have a query or fragment';
  return undefined;
}

/**
 * Whether `url` is inside `prefix`: the same scheme, host and port, and a path under the prefix's path at a
 * segment boundary (https://git.example/platform is not a prefix of https://git.example/platform-evil or
 * of https://git.example.evil/platform). Both are compared as parsed, with `..` and `%2e` resolved.
 */
export function urlWithin(url: string, prefix: string): boolean {
  let u: URL;
  let p: URL;
  try {
    u = new URL(url);
    p = new URL(prefix);
  } catch {
    return false;
  }
  if (u.protocol !== p.protocol || u.host !== p.host || u.username || u.password) return false;
  const base = p.pathname.endsWith('/') ? p.pathname : `${p.pathname}/`;
  return u.pathname === p.pathname || u.pathname.startsWith(base);
}

/** What a credential puts on the wire for a URL it may go to: the URL as git fetches it, and the header. */
export interface Authorization {
  /** The URL normalised as it was checked (dot segments resolved), so git fetches what was allowed. */
  url: string;
  header: string;
}

export class Credentials implements ChartRepositories {
  private constructor(
    private readonly byName: Map<string, Credential>,
    /** Folder of sink URL files, when the worker names one. */
    readonly sinkUrlFolder: string | undefined,
    /** Where the declarations came from, for messages ("ROLLOUT_CREDENTIALS (/path)" or "none declared"). */
    readonly origin: string,
    private readonly env: NodeJS.ProcessEnv,
    private readonly repositories: readonly ChartRepository[] = [],
  ) {}

  static none(env: NodeJS.ProcessEnv = process.env): Credentials {
    return new Credentials(new Map(), undefined, 'no ROLLOUT_CREDENTIALS file', env);
  }

  /** Parses a credentials file's text; a bad one is an error naming the file and the field. */
  static parse(text: string, file: string, env: NodeJS.ProcessEnv = process.env): Credentials {
    let raw: unknown;
    try {
      raw = parseYaml(text) ?? {};
    } catch (err) {
      throw new Error(`${file}: not YAML: ${(err as Error).message}`);
    }
    const parsed = CredentialsFile.safeParse(raw);
    if (!parsed.success) {
      const first = parsed.error.issues[0];
      const where = first?.path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('') ?? '';
      throw new Error(`${file}: ${where.replace(/^\./, '') || '(top)'}: ${first?.message ?? 'invalid'}`);
    }
    const byName = new Map<string, Credential>();
    for (const [i, c] of parsed.data.credentials.entries()) {
      if (byName.has(c.name)) throw new Error(`${file}: credentials[${i}].name: ${c.name} is declared twice`);
      byName.set(c.name, c);
    }
    const names = new Set<string>();
    for (const [i, r] of parsed.data.chartRepositories.entries()) {
      if (names.has(r.name)) throw new Error(`${file}: chartRepositories[${i}].name: ${r.name} is declared twice`);
      names.add(r.name);
    }
    const origin = `ROLLOUT_CREDENTIALS (${file})`;
    return new Credentials(byName, parsed.data.sinkUrlFolder, origin, env, parsed.data.chartRepositories);
  }

  /** The file ROLLOUT_CREDENTIALS names, read once (a worker reads it when it starts); none when unset. */
  static load(file: string | undefined, env: NodeJS.ProcessEnv = process.env): Credentials {
    if (!file) return Credentials.none(env);
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      throw new Error(`ROLLOUT_CREDENTIALS names ${file}, which cannot be read: ${(err as Error).message}`);
    }
    return Credentials.parse(text, file, env);
  }

  has(name: string): boolean {
    return this.byName.has(name);
  }

  /**
   * Why `name` may not be sent to `url` (undeclared, or bound elsewhere), or undefined when it may: for
   * preflight, which refuses the start, and for the step that would send it.
   */
  refusal(name: string, url: string): string | undefined {
    const c = this.byName.get(name);
    if (!c) return `credential ${name} is not declared on this worker (${this.origin})`;
    if (!urlWithin(url, c.url)) return `credential ${name} may only be sent to ${c.url}, not to ${url}`;
    return undefined;
  }

  /** The header for `url`, read now from the token's file or variable; a refusal is final and says why. */
  async authorize(name: string, url: string): Promise<Authorization> {
    const refused = this.refusal(name, url);
    if (refused) throw ApplicationFailure.nonRetryable(refused, FailureType.SourceFile);
    const c = this.byName.get(name) as Credential;
    let token: string | undefined;
    if (c.tokenEnv) token = this.env[c.tokenEnv] || undefined;
    else {
      token = await readFile(c.tokenFile as string, 'utf8').then(
        (t) => t.trim() || undefined,
        () => undefined,
      );
    }
    if (!token) {
      const where = c.tokenEnv ? `environment variable ${c.tokenEnv}` : `file ${c.tokenFile}`;
      throw ApplicationFailure.nonRetryable(
        `credential ${name}: its token (${where}) is empty or missing on this worker`,
        FailureType.SourceFile,
      );
    }
    const basic = Buffer.from(`${c.username}:${token}`).toString('base64');
    return { url: new URL(url).href, header: `Authorization: Basic ${basic}` };
  }

  /**
   * The chart repository settings that apply to `location` (an oci:// reference or a repository URL): the
   * entry with the longest URL prefix that holds it, its password read now. A password that is missing,
   * or a CA or certificate file that is not there, is a final error naming the entry and the field.
   */
  async chartRepository(location: string): Promise<ChartRepositoryAccess | undefined> {
    const entry = this.repositories
      .filter((r) => urlWithin(location, r.url))
      .sort((a, b) => new URL(b.url).pathname.length - new URL(a.url).pathname.length)[0];
    if (!entry) return undefined;
    const refuse = (text: string) =>
      ApplicationFailure.nonRetryable(
        `chart repository ${entry.name} (${this.origin}): ${text}`,
        FailureType.HelmFailed,
      );
    for (const field of ['caFile', 'certFile', 'keyFile'] as const) {
      const path = entry[field];
      if (path && !(await readable(path))) throw refuse(`its ${field} ${path} cannot be read on this worker`);
    }
    let password: string | undefined;
    if (entry.passwordEnv) password = this.env[entry.passwordEnv] || undefined;
    else if (entry.passwordFile) {
      password = await readFile(entry.passwordFile, 'utf8').then(
        (t) => t.trim() || undefined,
        () => undefined,
      );
    }
    if (entry.username && !password) {
      const where = entry.passwordEnv ? `environment variable ${entry.passwordEnv}` : `file ${entry.passwordFile}`;
      throw refuse(`its password (${where}) is empty or missing on this worker`);
    }
    return {
      name: entry.name,
      url: entry.url,
      origin: this.origin,
      username: entry.username,
      password,
      caFile: entry.caFile,
      certFile: entry.certFile,
      keyFile: entry.keyFile,
      plainHttp: entry.plainHttp,
    };
  }

  /**
   * The real path of a sink's URL file, a plain name inside the sink URL folder: a link that leaves the
   * folder is refused, naming where it points.
   */
  async sinkUrlFile(sink: string, file: string): Promise<string> {
    if (!this.sinkUrlFolder) {
      throw new Error(`sink ${sink}: urlFrom.file needs a sinkUrlFolder in the worker's ${this.origin}`);
    }
    if (file.includes('/') || file === '.' || file === '..') {
      throw new Error(`sink ${sink}: urlFrom.file must be a file name in the worker's sink URL folder, not ${file}`);
    }
    const folder = await realpath(this.sinkUrlFolder).catch(() => undefined);
    if (!folder) throw new Error(`sink ${sink}: the sink URL folder ${this.sinkUrlFolder} does not exist`);
    const real = await realpath(join(folder, file)).catch(() => undefined);
    if (!real) throw new Error(`sink ${sink}: no file ${file} in the sink URL folder`);
    if (!real.startsWith(folder + sep)) {
      throw new Error(`sink ${sink}: ${file} is a symlink that leaves the sink URL folder (it resolves to ${real})`);
    }
    return real;
  }
}

async function readable(path: string): Promise<boolean> {
  return access(path, constants.R_OK).then(
    () => true,
    () => false,
  );
}
