/**
 * src-engine must import nothing from Node, the DOM or Electron. The lint rule
 * (eslint.config.js) enforces it while editing; this test enforces it in `npm
 * test` and checks that the rule itself still catches a violation.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { ESLint } from 'eslint';
import { describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '../..');
const engineDir = join(root, 'src-engine');

function tsFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? tsFiles(p) : p.endsWith('.ts') ? [p] : [];
  });
}

const FORBIDDEN = /^(node:|electron$|electron\/|webgpu$|fs$|path$|os$|child_process$|worker_threads$|vue$|pinia$)/;
const IMPORT_RE = /(?:^|\n)\s*(?:import|export)\s[^'"]*?from\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g;

describe('engine import boundary', () => {
  it('no file in src-engine imports Node built-ins, Electron, Dawn, UI libraries or other source trees', () => {
    const offenders: string[] = [];
    const files = tsFiles(engineDir);
    expect(files.length).toBeGreaterThan(0);
    for (const file of files) {
      const text = readFileSync(file, 'utf8');
      for (const m of text.matchAll(IMPORT_RE)) {
        const spec = (m[1] ?? m[2])!;
        if (FORBIDDEN.test(spec) || /src-(main|renderer)/.test(spec)) offenders.push(`${relative(root, file)} imports ${spec}`);
      }
    }
    expect(offenders).toEqual([]);
  });

  it('the lint rule rejects a Node import and a DOM global in an engine file', async () => {
    const eslint = new ESLint({ cwd: root });
    const [result] = await eslint.lintText(
      "import { readFileSync } from 'node:fs';\nimport path from 'path';\nexport const x = document.title + readFileSync + path;\n",
      { filePath: join(engineDir, 'boundary-probe.ts') },
    );
    const rules = result!.messages.map((m) => m.ruleId);
    expect(rules.filter((r) => r === 'no-restricted-imports')).toHaveLength(2);
    expect(rules).toContain('no-restricted-globals');
  });

  it('the same code outside src-engine is allowed', async () => {
    const eslint = new ESLint({ cwd: root });
    const [result] = await eslint.lintText("import { readFileSync } from 'node:fs';\nexport const x = readFileSync;\n", {
      filePath: join(root, 'src-main', 'boundary-probe.ts'),
    });
    expect(result!.messages.filter((m) => m.ruleId === 'no-restricted-imports')).toEqual([]);
  });
});
