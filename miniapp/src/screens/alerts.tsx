import { useState } from "preact/hooks";
import { createAlertRule, deleteAlertRule, listAlertRules, listAlerts } from "../api";
import type { Alert, AlertKind, AlertRule } from "../api-types";
import { myChannels, roleAtLeast } from "../channels";
import { BackLink } from "../components/back-link";
import { MainAction } from "../components/main-action";
import { ErrorState, Skeleton } from "../components/states";
import { showToast } from "../components/toast";
import { formatCount, formatDateTime } from "../format";
import { useAsync } from "../hooks";
import { t } from "../i18n";
import { hrefFor, navigate, routeFromStartParam } from "../router";
import { confirmAction, hapticNotify, hapticSelection } from "../telegram";
import { ApiError } from "../api";

const KINDS: readonly AlertKind[] = [
  "post_viral",
  "post_underperforming",
  "subscriber_drop",
  "subscriber_milestone",
  "collection_stalled",
];
/** The server's defaults (docs/api.md), offered as the starting threshold. */
const DEFAULTS: Readonly<Record<AlertKind, number>> = {
  post_viral: 2,
  post_underperforming: 0.5,
  subscriber_drop: 5,
  subscriber_milestone: 1000,
  collection_stalled: 6,
};

function isKind(kind: string): kind is AlertKind {
  return (KINDS as readonly string[]).includes(kind);
}

function kindName(kind: string): string {
  return isKind(kind) ? t(`alerts.kind.${kind}`) : t("alerts.kind.unknown");
}

function ruleText(rule: AlertRule): string {
  const value = rule.kind === "subscriber_milestone" ? formatCount(rule.threshold) : String(rule.threshold);
  return isKind(rule.kind) ? t(`alerts.kind.${rule.kind}.unit`, { value }) : value;
}

function RuleForm({ onSave, saving }: { onSave: (kind: AlertKind, threshold: number | null) => void; saving: boolean }) {
  const [kind, setKind] = useState<AlertKind>("post_viral");
  const [threshold, setThreshold] = useState(String(DEFAULTS.post_viral));
  const parsed = Number(threshold.replace(",", "."));
  const valid = threshold.trim() === "" || (Number.isFinite(parsed) && parsed > 0);
  return (
    <section class="card form" data-testid="alert-form">
      <label class="control control-block">
        <span class="control-label">{t("alerts.kind")}</span>
        <select
          class="select"
          data-testid="alert-kind"
          value={kind}
          onChange={(event) => {
            const next = (event.currentTarget as HTMLSelectElement).value;
            if (!isKind(next)) return;
            hapticSelection();
            setKind(next);
            setThreshold(String(DEFAULTS[next]));
          }}
        >
          {KINDS.map((option) => (
            <option key={option} value={option}>
              {t(`alerts.kind.${option}`)}
            </option>
          ))}
        </select>
      </label>
      <label class="control control-block">
        <span class="control-label">{t("alerts.threshold")}</span>
        <input
          class="input"
          inputMode="decimal"
          data-testid="alert-threshold"
          aria-invalid={!valid}
          value={threshold}
          onInput={(event) => setThreshold((event.currentTarget as HTMLInputElement).value)}
        />
        <span class="stat-help">{t(`alerts.kind.${kind}.unit`, { value: valid && threshold ? threshold : "…" })}</span>
      </label>
      <MainAction
        text={t("alerts.save")}
        testId="main-save-alert"
        active={valid}
        progress={saving}
        onClick={() => onSave(kind, threshold.trim() === "" ? null : parsed)}
      />
    </section>
  );
}

function AlertRow({ channelId, alert }: { channelId: number; alert: Alert }) {
  const route = routeFromStartParam(alert.deep_link);
  const body = (
    <>
      <span class="post-meta">
        <span>{formatDateTime(new Date(alert.created_at))}</span>
        <span class="chip">{kindName(alert.kind)}</span>
      </span>
      <span class="post-text">{alert.text}</span>
    </>
  );
  return (
    <li data-testid="alert-item">
      {route && route.name !== "channels" && route.channelId === channelId ? (
        <a
          class="post-row"
          href={hrefFor(route)}
          onClick={(event) => {
            event.preventDefault();
            navigate(route);
          }}
        >
          {body}
        </a>
      ) : (
        <div class="post-row">{body}</div>
      )}
    </li>
  );
}

export function AlertsScreen({ channelId }: { channelId: number }) {
  const [rules, reloadRules] = useAsync((signal) => listAlertRules(channelId, signal), [channelId]);
  const [alerts, reloadAlerts] = useAsync((signal) => listAlerts(channelId, signal), [channelId]);
  const [channels] = useAsync((signal) => myChannels(signal), []);
  const role = channels.data?.find((c) => c.channel_id === channelId)?.role ?? null;
  const canManage = roleAtLeast(role, "analyst");
  const [adding, setAdding] = useState(false);
  const [saving, setSaving] = useState(false);

  const fail = (error: unknown): void => {
    hapticNotify("error");
    showToast(error instanceof ApiError ? error.message : t("error.generic"), "error");
  };
  const save = (kind: AlertKind, threshold: number | null): void => {
    setSaving(true);
    createAlertRule(channelId, kind, threshold).then(
      () => {
        hapticNotify("success");
        setAdding(false);
        setSaving(false);
        reloadRules();
      },
      (error: unknown) => {
        setSaving(false);
        fail(error);
      },
    );
  };
  const remove = async (rule: AlertRule): Promise<void> => {
    if (!(await confirmAction(t("alerts.deleteConfirm")))) return;
    try {
      await deleteAlertRule(channelId, rule.rule_id);
      hapticNotify("success");
      reloadRules();
    } catch (error) {
      fail(error);
    }
  };

  return (
    <main class="screen" data-testid="screen-alerts" data-channel-id={String(channelId)}>
      <BackLink />
      <h1 class="title">{t("alerts.title")}</h1>
      <div class="cards">
        <h2 class="section-title">{t("alerts.rules")}</h2>
        {rules.status === "error" ? (
          <ErrorState error={rules.error} onRetry={reloadRules} />
        ) : rules.data === null ? (
          <Skeleton rows={1} kind="row" />
        ) : rules.data.length === 0 ? (
          <p class="card na" data-testid="rules-empty">
            {t("alerts.noRules")}
          </p>
        ) : (
          <ul class="section list">
            {rules.data.map((rule) => (
              <li key={rule.rule_id} class="row rule-row" data-testid="rule-item" data-kind={rule.kind}>
                <span class="row-main">
                  <span class="row-title">{kindName(rule.kind)}</span>
                  <span class="row-subtitle">{ruleText(rule)}</span>
                </span>
                {canManage && (
                  <button type="button" class="link-button destructive" data-testid="rule-delete" onClick={() => void remove(rule)}>
                    {t("alerts.delete")}
                  </button>
                )}
              </li>
            ))}
          </ul>
        )}
        {canManage && adding && <RuleForm onSave={save} saving={saving} />}
        {!canManage && role !== null && <p class="footnote">{t("alerts.readOnly")}</p>}
        <h2 class="section-title">{t("alerts.recent")}</h2>
        {alerts.status === "error" ? (
          <ErrorState error={alerts.error} onRetry={reloadAlerts} />
        ) : alerts.data === null ? (
          <Skeleton rows={1} kind="row" />
        ) : alerts.data.length === 0 ? (
          <p class="card na" data-testid="alerts-empty">
            {t("alerts.noAlerts")}
          </p>
        ) : (
          <ul class="section list post-list">
            {alerts.data.map((alert) => (
              <AlertRow key={alert.alert_id} channelId={channelId} alert={alert} />
            ))}
          </ul>
        )}
      </div>
      {canManage && !adding && <MainAction text={t("alerts.add")} testId="main-add-alert" onClick={() => setAdding(true)} />}
    </main>
  );
}
