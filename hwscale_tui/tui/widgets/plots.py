"""A scatter-with-fit plot on log axes, drawn with textual-plotext (log10 values, own tick labels)."""

from __future__ import annotations

from textual_plotext import PlotextPlot

from ..plot_data import PlotSpec, compact_number, log_ticks, positive, to_axis


class FitPlot(PlotextPlot):
    """Draw one :class:`PlotSpec`: the CI band and the fit first, the measured points on top, then the highlighted ones."""

    def __init__(self, *, ascii_only: bool = False, **kwargs) -> None:
        super().__init__(**kwargs)
        self.ascii_only = ascii_only
        self.spec: PlotSpec | None = None

    def show(self, spec: PlotSpec | None) -> None:
        self.spec = spec
        self.redraw()

    def set_ascii(self, ascii_only: bool) -> None:
        self.ascii_only = ascii_only
        self.redraw()

    def redraw(self) -> None:
        plt = self.plt
        plt.clear_data()
        plt.clear_figure()
        spec = self.spec
        if spec is None:
            plt.title("no data")
            self.refresh()
            return
        lx, ly = spec.log_x, spec.log_y
        line_marker = "." if self.ascii_only else "braille"
        point_marker = "*" if self.ascii_only else "●"
        band = positive(spec.band, lx, ly)
        fit = positive(spec.fit, lx, ly)
        points = positive(spec.points, lx, ly)
        front = positive(spec.highlight, lx, ly)
        if band:
            xs = to_axis([b[0] for b in band], lx)
            plt.plot(xs, to_axis([b[1] for b in band], ly), marker=line_marker, color="gray")
            plt.plot(xs, to_axis([b[2] for b in band], ly), marker=line_marker, color="gray")
        if fit:
            plt.plot(
                to_axis([f[0] for f in fit], lx),
                to_axis([f[1] for f in fit], ly),
                marker=line_marker,
                color="cyan",
            )
        if front:
            plt.plot(
                to_axis([f[0] for f in front], lx),
                to_axis([f[1] for f in front], ly),
                marker=line_marker,
                color="green",
            )
        if points:
            plt.scatter(
                to_axis([p[0] for p in points], lx),
                to_axis([p[1] for p in points], ly),
                marker=point_marker,
                color="orange",
            )
        if front:  # its points in green on top (a one-point front draws no line)
            plt.scatter(
                to_axis([f[0] for f in front], lx),
                to_axis([f[1] for f in front], ly),
                marker=point_marker,
                color="green",
            )
        every = points + fit + band + front
        for axis, log, setter in ((0, lx, plt.xticks), (1, ly, plt.yticks)):
            vals = [p[axis] for p in every] + ([b[2] for b in band] if axis == 1 else [])
            if not vals:
                continue
            if log:
                ticks = log_ticks(min(vals), max(vals))
                setter(to_axis(ticks, True), [compact_number(t) for t in ticks])
        plt.title(spec.title)
        plt.xlabel(spec.x_label + (" (log)" if lx else ""))
        plt.ylabel(spec.y_label + (" (log)" if ly else ""))
        self.refresh()
