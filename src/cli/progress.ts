/**
 * A one-line spinner on stderr for anything that waits, shown only when stderr is a terminal so
 * that scripts and logs never receive control characters.
 */
const FRAMES = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

export interface Progress {
  update(text: string): void;
  stop(): void;
}

export function startProgress(label: string, enabled = process.stderr.isTTY === true): Progress {
  if (!enabled) return { update: () => undefined, stop: () => undefined };
  let text = label;
  let frame = 0;
  const started = Date.now();
  const draw = () => {
    const seconds = ((Date.now() - started) / 1000).toFixed(1);
    process.stderr.write(`\r\x1b[2K${FRAMES[frame++ % FRAMES.length]} ${text} (${seconds} s)`);
  };
  const timer = setInterval(draw, 80);
  draw();
  return {
    update(next) {
      text = next;
    },
    stop() {
      clearInterval(timer);
      process.stderr.write('\r\x1b[2K');
    },
  };
}
