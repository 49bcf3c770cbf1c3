/**
 * Full-screen mode for an interactive view: the alternate screen, left again on every way out
 * (normal return, exception, signal, process exit), so the shell's screen comes back as it was.
 * Raw mode and the cursor are ink's to restore (it does on unmount).
 */
export function enterFullScreen(stdout: NodeJS.WriteStream): () => void {
  if (!stdout.isTTY) return () => {};
  let left = false;
  const leave = () => {
    if (left) return;
    left = true;
    process.off("exit", leave);
    stdout.write("\x1b[?1049l");
  };
  stdout.write("\x1b[?1049h\x1b[H");
  process.on("exit", leave);
  return leave;
}
