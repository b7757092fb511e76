// A histogram whose observations cost a Map lookup and an array increment (prom-client's own cost
// ~0.4 µs per labelled observation, 2% of the gateway's CPU); registered in prom-client's registry at
// scrape time, which renders it as it renders any metric that answers get() in its shape.
interface Series {
  labels: Record<string, string>;
  counts: Float64Array; // per bucket (not cumulative), then +Inf
  sum: number;
}

export class FastHistogram {
  readonly type = "histogram";
  readonly aggregator = "sum";
  private readonly series = new Map<string, Series>();

  constructor(
    readonly name: string,
    readonly help: string,
    private readonly buckets: number[],
  ) {}

  /** `key` identifies the label set (callers build it once per distinct labels). */
  observe(key: string, labels: () => Record<string, string>, value: number): void {
    let s = this.series.get(key);
    if (!s) this.series.set(key, (s = { labels: labels(), counts: new Float64Array(this.buckets.length + 1), sum: 0 }));
    let i = 0;
    while (i < this.buckets.length && value > this.buckets[i]!) i++;
    s.counts[i]!++;
    s.sum += value;
  }

  get() {
    const values: { labels: Record<string, string | number>; value: number; metricName: string }[] = [];
    for (const s of this.series.values()) {
      let cumulative = 0;
      this.buckets.forEach((le, i) => {
        cumulative += s.counts[i]!;
        values.push({ labels: { ...s.labels, le }, value: cumulative, metricName: `${this.name}_bucket` });
      });
      cumulative += s.counts[this.buckets.length]!;
      values.push({ labels: { ...s.labels, le: "+Inf" }, value: cumulative, metricName: `${this.name}_bucket` });
      values.push({ labels: s.labels, value: s.sum, metricName: `${this.name}_sum` });
      values.push({ labels: s.labels, value: cumulative, metricName: `${this.name}_count` });
    }
    return { name: this.name, help: this.help, type: this.type, values, aggregator: this.aggregator };
  }
}
