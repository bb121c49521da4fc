import { getBestTime } from "../api";
import type { BestTime } from "../api-types";
import { BarList } from "../charts/bar-list";
import { Heatmap, type HeatCell } from "../charts/heatmap";
import { BackLink } from "../components/back-link";
import { ErrorState, Skeleton } from "../components/states";
import { formatCount, formatRatio } from "../format";
import { useAsync } from "../hooks";
import { t, type MessageKey } from "../i18n";

function dayName(weekday: number): string {
  return t(`wd.${weekday}` as MessageKey);
}

function slotName(weekday: number, hour: number): string {
  return `${dayName(weekday)} ${String(hour).padStart(2, "0")}:00`;
}

function BestTimeView({ data }: { data: BestTime }) {
  const cells: HeatCell[] = data.slots.map((slot) => {
    const params = {
      day: dayName(slot.weekday),
      hour: String(slot.hour).padStart(2, "0"),
      posts: formatCount(slot.posts),
    };
    return {
      weekday: slot.weekday,
      hour: slot.hour,
      value: slot.score.value,
      label:
        slot.score.value === null
          ? t("best.cellNa", params)
          : t("best.cell", { ...params, score: `${formatRatio(slot.score.value)}×` }),
    };
  });
  const known = data.slots.filter((slot) => slot.score.value !== null);
  const top = [...known].sort((a, b) => (b.score.value ?? 0) - (a.score.value ?? 0)).slice(0, 5);
  return (
    <>
      <section class="card" aria-labelledby="label-heatmap">
        <h3 class="card-label" id="label-heatmap">
          {t("best.timeZone", { tz: data.time_zone })}
        </h3>
        <Heatmap
          testId="heatmap"
          cells={cells}
          weekdayNames={[1, 2, 3, 4, 5, 6, 7].map(dayName)}
          title={t("best.title")}
          summary={t("best.summary", { count: String(known.length) })}
        />
        <div class="heat-legend" aria-hidden="true">
          <span>{t("best.less")}</span>
          {[0, 1, 2, 3, 4].map((level) => (
            <span key={level} class={`heat-swatch heat-${level}`} />
          ))}
          <span>{t("best.more")}</span>
          <span class="heat-swatch heat-na-swatch" />
          <span>{t("na.title")}</span>
        </div>
        <p class="card-help">{t("best.help")}</p>
      </section>
      <section class="card" aria-labelledby="label-top">
        <h3 class="card-label" id="label-top">
          {t("best.top")}
        </h3>
        {top.length === 0 ? (
          <p class="card-line na" data-testid="best-none" data-reason="TOO_FEW_POSTS">
            {t("best.none")}
          </p>
        ) : (
          <BarList
            testId="best-top"
            label={t("best.top")}
            bars={top.map((slot) => ({
              key: `${slot.weekday}-${slot.hour}`,
              label: slotName(slot.weekday, slot.hour),
              value: slot.score.value ?? 0,
              display: `${formatRatio(slot.score.value ?? 0)}×`,
            }))}
          />
        )}
      </section>
    </>
  );
}

export function BestTimeScreen({ channelId }: { channelId: number }) {
  const [state, reload] = useAsync((signal) => getBestTime(channelId, signal), [channelId]);
  return (
    <main class="screen" data-testid="screen-best-time" data-channel-id={String(channelId)}>
      <BackLink />
      <h1 class="title">{t("best.title")}</h1>
      <div class="cards">
        {state.status === "error" ? (
          <ErrorState error={state.error} onRetry={reload} />
        ) : state.data === null ? (
          <Skeleton rows={2} kind="card" />
        ) : (
          <BestTimeView data={state.data} />
        )}
      </div>
    </main>
  );
}
