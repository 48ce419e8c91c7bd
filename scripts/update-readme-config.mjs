#!/usr/bin/env node
// Rewrites the configuration table of README.md from the settings table in core/settings/settings.ts
// (run after `npm run build`; the unit tests fail when the README's table is out of date).
import { readFileSync, writeFileSync } from 'node:fs';
import { settingsMarkdown } from '../dist/core/settings/index.js';

const path = new URL('../README.md', import.meta.url);
const readme = readFileSync(path, 'utf8');
const start = '<!-- config-table:start -->';
const end = '<!-- config-table:end -->';
const from = readme.indexOf(start);
const to = readme.indexOf(end);
if (from === -1 || to === -1) throw new Error(`README.md needs the markers ${start} and ${end}`);
writeFileSync(path, `${readme.slice(0, from + start.length)}\n${settingsMarkdown()}\n${readme.slice(to)}`);
