// The screen's main action: Telegram's MainButton inside Telegram, a button pinned to
// the bottom of the screen in an ordinary browser.

import { useEffect } from "preact/hooks";
import { useLatest } from "../hooks";
import { hasNativeMainButton, showMainButton } from "../telegram";

export function MainAction({
  text,
  onClick,
  progress = false,
  active = true,
  testId,
}: {
  text: string;
  onClick: () => void;
  progress?: boolean;
  active?: boolean;
  testId: string;
}) {
  const latest = useLatest(onClick);
  const native = hasNativeMainButton();
  useEffect(() => {
    if (!native) return undefined;
    return showMainButton({ text, active, progress }, () => latest.current());
  }, [native, text, active, progress]);
  if (native) return null;
  return (
    <div class="main-action">
      <button
        type="button"
        class="button button-wide"
        data-testid={testId}
        disabled={!active || progress}
        aria-busy={progress}
        onClick={() => latest.current()}
      >
        {text}
      </button>
    </div>
  );
}
