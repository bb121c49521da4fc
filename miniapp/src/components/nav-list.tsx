import type { MessageKey } from "../i18n";
import { t } from "../i18n";
import { hrefFor, navigate, type Route } from "../router";
import { hapticImpact } from "../telegram";

export interface NavItem {
  key: string;
  route?: Route;
  onClick?: () => void;
  label: MessageKey;
  hint: MessageKey;
  icon: string;
  busy?: boolean;
}

/** A Telegram-style grouped list of links to a channel's sections. */
export function NavList({ items, label }: { items: readonly NavItem[]; label: string }) {
  return (
    <nav aria-label={label}>
      <ul class="section list">
        {items.map((item) => {
          const open = (event: MouseEvent): void => {
            event.preventDefault();
            hapticImpact();
            if (item.route) navigate(item.route);
            else item.onClick?.();
          };
          return (
            <li key={item.key}>
              <a
                class="row"
                href={item.route ? hrefFor(item.route) : "#"}
                role={item.route ? undefined : "button"}
                aria-busy={item.busy}
                onClick={open}
                data-testid={`nav-${item.key}`}
              >
                <span class={`nav-icon nav-icon-${item.key}`} aria-hidden="true">
                  {item.icon}
                </span>
                <span class="row-main">
                  <span class="row-title">{t(item.label)}</span>
                  <span class="row-subtitle">{t(item.hint)}</span>
                </span>
                <span class="chevron" aria-hidden="true">
                  ›
                </span>
              </a>
            </li>
          );
        })}
      </ul>
    </nav>
  );
}
