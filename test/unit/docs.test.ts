import { existsSync, readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import ts from 'typescript';

/**
 * The docs against the code: the contributors' layout names every file of the workflow sandbox, every ```ts block of
 * the docs compiles against kern's real API, and every link between the pages leads somewhere.
 */

/** The repository root: the nearest folder above this file with kern's package.json (the test may move between tiers). */
const root = (function findRoot(dir: string): string {
  if (existsSync(path.join(dir, 'package.json'))) return dir;
  if (path.dirname(dir) === dir) throw new Error(`no package.json above ${__dirname}`);
  return findRoot(path.dirname(dir));
})(__dirname);
const read = (page: string) => readFileSync(path.join(root, page), 'utf8');

/** Every page of the docs, as paths from the repository root. */
const pages = [
  'README.md',
  'CONTRIBUTING.md',
  'bench/README.md',
  ...readdirSync(path.join(root, 'docs'))
    .filter((file) => file.endsWith('.md'))
    .map((file) => `docs/${file}`),
];

interface CodeBlock {
  page: string;
  /** Its number among the page's blocks of its language, from 1. */
  index: number;
  /** The page's line of the block's first code line, from 1. */
  line: number;
  language: string;
  code: string;
}

/** The fenced code blocks of a page (fences may be indented, as in a list item). */
function codeBlocks(page: string): CodeBlock[] {
  const blocks: CodeBlock[] = [];
  const counts = new Map<string, number>();
  let open: { language: string; line: number; indent: number; lines: string[] } | undefined;
  read(page)
    .split('\n')
    .forEach((text, i) => {
      const fence = /^(\s*)```\s*([\w-]*)/.exec(text);
      if (open && fence) {
        const index = (counts.get(open.language) ?? 0) + 1;
        counts.set(open.language, index);
        blocks.push({ page, index, line: open.line, language: open.language, code: open.lines.join('\n') + '\n' });
        open = undefined;
      } else if (open) {
        open.lines.push(text.slice(Math.min(open.indent, text.length - text.trimStart().length)));
      } else if (fence) {
        open = { language: fence[2] ?? '', line: i + 2, indent: fence[1]?.length ?? 0, lines: [] };
      }
    });
  if (open) throw new Error(`${page}: a code block opened on line ${open.line - 1} is never closed`);
  return blocks;
}

const allBlocks = pages.flatMap(codeBlocks);
const isTypeScript = (block: CodeBlock) => block.language === 'ts' || block.language === 'typescript';

test("the contributors' layout names every file of the workflow sandbox", () => {
  const contributing = read('CONTRIBUTING.md');
  const start = contributing.indexOf('## Layout');
  const end = contributing.indexOf('\n## ', start + 1);
  expect(start).toBeGreaterThanOrEqual(0);
  const layout = contributing.slice(start, end === -1 ? undefined : end);
  const files = readdirSync(path.join(root, 'src/workflows')).filter((file) => file.endsWith('.ts'));
  expect(files.filter((file) => !layout.includes(file))).toEqual([]);
});

test('every code block says its language', () => {
  const unlabelled = allBlocks.filter((block) => block.language === '');
  expect(unlabelled.map((block) => `${block.page}:${block.line - 1}`)).toEqual([]);
});

/** Where the compiler is told the blocks are: a folder of the repository that exists only in memory. */
const snippetFolder = path.join(root, 'test', 'docs-snippets');

/**
 * Type-checks TypeScript snippets (file paths in {@link snippetFolder}, and their code) as modules of this repository,
 * so `import … from 'kern'` (and `kern/worker`, `kern/server`, `kern/testing`) resolves to the package's own exports
 * by self-reference, with the project's compiler options. The snippets are served to the compiler from memory;
 * nothing is written to disk. One program for all of them.
 */
function typeCheck(snippets: ReadonlyMap<string, string>): Map<string, readonly ts.Diagnostic[]> {
  const config = ts.readConfigFile(path.join(root, 'tsconfig.json'), ts.sys.readFile);
  const { options } = ts.parseJsonConfigFileContent(config.config, ts.sys, root);
  const host = ts.createCompilerHost(options);
  const { fileExists, readFile, getSourceFile, directoryExists } = host;
  host.fileExists = (file) => snippets.has(file) || fileExists.call(host, file);
  host.readFile = (file) => snippets.get(file) ?? readFile.call(host, file);
  host.directoryExists = (dir) => dir === snippetFolder || (directoryExists?.call(host, dir) ?? true);
  host.getSourceFile = (file, language, ...rest) => {
    const code = snippets.get(file);
    return code === undefined
      ? getSourceFile.call(host, file, language, ...rest)
      : ts.createSourceFile(file, code, language);
  };
  const program = ts.createProgram([...snippets.keys()], options, host);
  if (!program.getSourceFile(path.join(root, 'src', 'index.ts'))) {
    throw new Error("'kern' did not resolve to this repository's src/index.ts");
  }
  return new Map(
    [...snippets.keys()].map((file) => {
      const source = program.getSourceFile(file);
      if (!source) throw new Error(`the compiler did not load ${file}`);
      return [file, [...program.getSyntacticDiagnostics(source), ...program.getSemanticDiagnostics(source)]];
    }),
  );
}

/**
 * The file a block is compiled as. A block whose first line names a file (`// app.ts`) is that file, and blocks of
 * any page may import it by that name (`./app`); there must be one block of that name in all the docs. Any other
 * block is a fragment, a module of its own: `.mts`, an ES module, so that top-level `await` is allowed.
 */
function snippetFileOf(block: CodeBlock): string {
  const named = /^\/\/ ([\w.-]+\.ts)\s*$/.exec(block.code.split('\n')[0] ?? '');
  return path.join(snippetFolder, named?.[1] ?? `${block.page.replace(/\W+/g, '-')}.${block.index}.mts`);
}

/** A block that calls an API kern does not have: the check must say so, or it checks nothing. */
const canary = `import { Agent } from 'kern';\nconst agent = new Agent({ name: 'Canary' });\nawait agent.runAndHope('Hello');\n`;

test('every TypeScript block of the docs compiles against the real API', () => {
  const blocks = allBlocks.filter(isTypeScript);
  expect(blocks.length).toBeGreaterThan(10);
  const files = new Map<string, CodeBlock>();
  for (const block of blocks) {
    const file = snippetFileOf(block);
    const other = files.get(file);
    if (other)
      throw new Error(
        `${block.page} ts block ${block.index} and ${other.page} ts block ${other.index} are both ${path.basename(file)}`,
      );
    files.set(file, block);
  }
  const canaryFile = path.join(snippetFolder, 'canary.mts');
  const diagnostics = typeCheck(
    new Map([...[...files].map(([file, block]): [string, string] => [file, block.code]), [canaryFile, canary]]),
  );

  const canaryProblems = diagnostics.get(canaryFile) ?? [];
  expect(canaryProblems.map((d) => ts.flattenDiagnosticMessageText(d.messageText, ' '))).toEqual([
    "Property 'runAndHope' does not exist on type 'Agent<string>'.",
  ]);

  const problems = [...files].flatMap(([file, block]) =>
    (diagnostics.get(file) ?? []).map((diagnostic) => {
      const at =
        diagnostic.file && diagnostic.start !== undefined
          ? diagnostic.file.getLineAndCharacterOfPosition(diagnostic.start)
          : undefined;
      const where = at ? `, line ${block.line + at.line} of the page` : '';
      const source = at ? `\n    ${block.code.split('\n')[at.line]?.trim()}` : '';
      const message = ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n    ');
      return `${block.page}, ts block ${block.index}${where}: TS${diagnostic.code} ${message}${source}`;
    }),
  );
  expect(problems).toEqual([]);
}, 120_000);

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces to `-`. */
const anchorOf = (heading: string) =>
  heading
    .trim()
    .toLowerCase()
    .replace(/`/g, '')
    .replace(/[^\p{L}\p{N} _-]/gu, '')
    .replace(/ /g, '-');

/** A page's text outside its code blocks. */
const prose = (page: string) => read(page).replace(/```[\s\S]*?```/g, '');

test('every link between the pages leads to a page and a heading that exist', () => {
  const broken = pages.flatMap((page) => {
    const text = prose(page);
    return [...text.matchAll(/\]\(([^)\s]+)\)/g)]
      .map((match) => match[1] ?? '')
      .filter((target) => !/^[a-z]+:/.test(target))
      .filter((target) => {
        const [file = '', anchor] = target.split('#');
        const linked = file === '' ? page : path.posix.join(path.posix.dirname(page), file);
        if (!existsSync(path.join(root, linked))) return true;
        if (anchor === undefined || !linked.endsWith('.md')) return false;
        const headings = [...prose(linked).matchAll(/^#+ (.+)$/gm)].map((heading) => anchorOf(heading[1] ?? ''));
        return !headings.includes(anchor);
      })
      .map((target) => `${page}: ${target}`);
  });
  expect(broken).toEqual([]);
});
