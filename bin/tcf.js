#!/usr/bin/env node
// The `tcf` command. TCF runs its TypeScript sources directly through tsx, so there is no build step.
import { register } from 'tsx/esm/api';

register();
await import('../src/cli/main.ts');
