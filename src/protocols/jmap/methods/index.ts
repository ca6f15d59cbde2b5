/**
 * The JMAP Core method table: method name → capability, arguments schema and handler. Data types (Mail,
 * Submission) add their tables beside it and the composition root merges them.
 */
import type { MethodTable } from '../method.ts';
import { CORE_ECHO } from './core-echo.ts';

export const CORE_METHODS: MethodTable = {
  'Core/echo': CORE_ECHO,
};
