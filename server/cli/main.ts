import { buildProgram, reportError } from './program.ts';

// `storetwin device list | head`: once the reader has gone, stop quietly with what was printed,
// as a command killed by SIGPIPE does, instead of an EPIPE stack trace.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(0);
    throw err;
  });
}

try {
  await buildProgram().parseAsync(process.argv);
} catch (err) {
  reportError(err);
}
