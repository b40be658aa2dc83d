#!/usr/bin/env node
// The kit is TypeScript run as is: register tsx's loader, then hand over to the CLI.
import { register } from 'tsx/esm/api';

register();
await import('../cli/index.ts');
