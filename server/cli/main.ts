import { buildProgram, reportError } from './program.ts';

try {
  await buildProgram().parseAsync(process.argv);
} catch (err) {
  reportError(err);
}
