/** Runs in every test worker before its test files: point the handlers at the run's table. */
import { inject } from 'vitest';

Object.assign(process.env, inject('handlerEnv'));
