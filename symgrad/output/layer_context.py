"""The LaTeX of the layer forms (analyses/layerforms.py) and the optimizer's steps, for the templates.

Each section is {"title": text, "text": a text-mode sentence (may hold $...$),
"steps": [{"lhs", "formula", "numbers"?, "value"}] (math mode, no $),
"table": {"header": [math], "rows": [[math]]} or None}; every format shows them the same way.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from symgrad.analyses.layerforms import Convolution, LayerForms, Normalisation, Pooling, Recurrence
from symgrad.engine.optimize import Step, states_shown
from symgrad.input.optimizerspec import OptimizerSpec
from symgrad.output.context_analyses import pmatrix
from symgrad.output.latex import format_number

WRITTEN_OUT = 12  # a sum of more terms is stated by its formula and its value only
STATE_LATEX = {"grad": "g", "velocity": "b", "m": "m", "v": "v", "mhat": r"\hat{m}", "vhat": r"\hat{v}",
               "value": r"\theta"}


Printer = Callable[[float], str]  # a number at the sheet's precision


def layer_sections(forms: LayerForms | None, steps: Sequence[Step], optimizer: OptimizerSpec | None,
                   names: Mapping[str, str], loss: str, precision: int) -> list[dict[str, Any]]:
    """Every worked section of a part, in the order of the layers, then the batch and the steps."""
    n = lambda v: format_number(v, precision, keep_zeros=True)  # noqa: E731
    d = lambda name: r"\frac{\partial %s}{\partial %s}" % (loss, names[name])  # noqa: E731
    out: list[dict[str, Any]] = []
    if forms is not None:
        for c in forms.convolutions:
            out.append(convolution(c, names, d, n))
        for p in forms.poolings:
            out.append(pooling(p, names, d, n))
        for r in forms.recurrences:
            out.append(recurrence(r, names, loss, n))
        for b in forms.normalisations:
            out.append(normalisation(b, names, loss, n))
        if forms.batch:
            out.append(batch(forms, names, loss, n))
    if steps and optimizer is not None:
        out.append(optimizer_table(steps, optimizer, names, n))
    return out


def broken(terms: Sequence[str], per_line: int = 3) -> str:
    """A long sum over several lines of an aligned display."""
    lines = [" + ".join(terms[k:k + per_line]) for k in range(0, len(terms), per_line)]
    return r" \\ &\quad + ".join(lines)


def convolution(c: Convolution, names: Mapping[str, str], d: Callable[[str], str], n: Printer) -> dict[str, Any]:
    """Each kernel entry's sum over the positions (and examples) it touched; the products that
    are not zero written out when there are few."""
    steps = []
    for e in c.entries:
        live = [t for t in e.terms if t.delta_value != 0 and t.other_value != 0]
        row = {"lhs": d(e.kernel), "value": n(e.value)}
        if len(e.terms) <= WRITTEN_OUT:
            row["formula"] = " + ".join(r"%s \, %s" % (d(t.delta), names[t.other]) for t in e.terms) or "0"
        else:
            row["formula"] = r"\sum \frac{\partial L}{\partial z} \, a \quad (\text{%d products, %d not zero})" % (
                len(e.terms), len(live))
        if len(live) <= WRITTEN_OUT:
            products = [r"(%s)(%s)" % (n(t.delta_value), n(t.other_value)) for t in live]
            row["numbers"] = broken(products) or "0"
        steps.append(row)
    dims = len(c.stride)
    position = "i" if dims == 1 else "i,j"
    shifted = ", ".join((f"{v}+{q}-1" if stride == 1 else f"{stride}({v}-1)+{q}") + (f"-{pad}" if pad else "")
                        for v, q, stride, pad in zip("ij", "pq", c.stride, c.padding))
    formula = (r"\frac{\partial L}{\partial K_{o,c,%s}} = \sum_{n} \sum_{%s} \frac{\partial L}{\partial z^{(n)}_{o,%s}} \,"
               r" a^{(n)}_{c,%s}" % ("p" if dims == 1 else "p,q", position, position, shifted))
    return {
        "title": f"Convolution, layer {c.layer}.",
        "text": ("The gradient of each kernel entry is the cross-correlation of the layer's input $a$ with "
                 rf"the upstream gradient $\partial L/\partial z$: ${formula}$ (the sum over the examples $n$ "
                 "of a mini-batch, entries outside the input are the zero padding). Products with a zero "
                 "factor are left out of the numbers."),
        "steps": steps, "table": None,
    }


def pooling(p: Pooling, names: Mapping[str, str], d: Callable[[str], str], n: Printer) -> dict[str, Any]:
    rows = []
    for r in p.routes:
        for entry, value, share in r.window:
            if share != 0 or p.kind == "avgpool":
                rows.append([names[r.output], n(r.upstream), names[entry], n(value), n(share), n(r.upstream * share)])
    if p.kind == "maxpool":
        how = ("all of its upstream gradient goes to the largest entry of its window (listed), "
               "none to the others")
    else:
        how = "each entry of its window gets an equal share of its upstream gradient"
    return {
        "title": f"{'Max' if p.kind == 'maxpool' else 'Average'} pooling, layer {p.layer}.",
        "text": f"Each pooled value $m$ routes the gradient back: {how}.",
        "steps": [],
        "table": {"header": ["m", r"\partial L/\partial m", "a", r"\text{value of } a", r"\partial m/\partial a",
                             r"\text{share of } \partial L/\partial a"], "rows": rows},
    }


def vector(values: Sequence[float], n: Printer) -> str:
    return pmatrix([[n(v)] for v in values])


def recurrence(r: Recurrence, names: Mapping[str, str], loss: str, n: Printer) -> dict[str, Any]:
    l = r.layer
    derivative = {"tanh": r"1 - h_t^{2}", "relu": r"H(z_t)"}[r.activation]
    rows = [[str(s.t), vector(s.h, n), vector(s.dh, n), vector(s.dz, n)] for s in r.steps]
    return {
        "title": f"Backpropagation through time, layer {l}" + (f", example {r.example}." if r.example else "."),
        "text": (r"From the last step back: $\delta_t = \partial %s/\partial h_t \odot (%s)$, and the gradient "
                 r"is carried back through the recurrent weights, $\partial %s/\partial h_{t-1} = U^{T} \delta_t$ "
                 r"(plus what the output takes from $h_{t-1}$). The weights sum over the steps: "
                 r"$\partial %s/\partial W = \sum_t \delta_t x_t^{T}$, $\partial %s/\partial U = \sum_t \delta_t h_{t-1}^{T}$, "
                 r"$\partial %s/\partial b = \sum_t \delta_t$.") % (loss, derivative, loss, loss, loss, loss),
        "steps": [],
        "table": {"header": ["t", "h_t", r"\partial %s/\partial h_t" % loss, r"\delta_t"], "rows": rows},
    }


def normalisation(b: Normalisation, names: Mapping[str, str], loss: str, n: Printer) -> dict[str, Any]:
    steps = []
    for f in b.features:
        N = len(f.x)
        steps += [
            {"lhs": r"\mu_{%d}" % f.feature, "formula": r"\frac{1}{%d} \sum_n x_n" % N, "value": n(f.mean)},
            {"lhs": r"\sigma^{2}_{%d}" % f.feature, "formula": r"\frac{1}{%d} \sum_n (x_n - \mu)^{2}" % N,
             "value": n(f.var)},
            {"lhs": r"\frac{\partial %s}{\partial \hat{x}}" % loss, "formula": r"\gamma \, \frac{\partial %s}{\partial y}" % loss,
             "value": vector(f.dxhat, n)},
            {"lhs": r"\frac{\partial %s}{\partial \sigma^{2}}" % loss,
             "formula": r"\sum_n \frac{\partial %s}{\partial \hat{x}_n} (x_n - \mu) \cdot \left(-\tfrac{1}{2}\right)(\sigma^{2} + \epsilon)^{-3/2}" % loss,
             "value": n(f.dvar)},
            {"lhs": r"\frac{\partial %s}{\partial \mu}" % loss,
             "formula": r"-\sum_n \frac{\partial %s}{\partial \hat{x}_n} \frac{1}{\sqrt{\sigma^{2} + \epsilon}} + \frac{\partial %s}{\partial \sigma^{2}} \cdot \frac{-2}{N} \sum_n (x_n - \mu)" % (loss, loss),
             "value": n(f.dmean)},
            {"lhs": r"\frac{\partial %s}{\partial x_n}" % loss,
             "formula": r"\frac{1}{N \sqrt{\sigma^{2} + \epsilon}} \left( N \frac{\partial %s}{\partial \hat{x}_n} - \sum_k \frac{\partial %s}{\partial \hat{x}_k} - \hat{x}_n \sum_k \frac{\partial %s}{\partial \hat{x}_k} \hat{x}_k \right)" % (loss, loss, loss),
             "value": vector(f.three_term, n)},
            {"lhs": r"\frac{\partial %s}{\partial \gamma_{%d}}, \frac{\partial %s}{\partial \beta_{%d}}" % (loss, f.feature, loss, f.feature),
             "formula": r"\sum_n \frac{\partial %s}{\partial y_n} \hat{x}_n, \ \sum_n \frac{\partial %s}{\partial y_n}" % (loss, loss),
             "value": f"{n(f.dgamma)}, \\ {n(f.dbeta)}"},
        ]
    return {
        "title": f"Batch normalisation, layer {b.layer}.",
        "text": (r"In training mode each feature is normalised by the batch's mean and (biased) variance, "
                 r"$\hat{x}_n = (x_n - \mu)/\sqrt{\sigma^{2} + \epsilon}$, $y_n = \gamma \hat{x}_n + \beta$; the gradient "
                 r"runs through $\hat{x}$, the variance and the mean, which gives the three-term form "
                 r"(it agrees with the chain rule through the graph, entry by entry)."),
        "steps": steps, "table": None,
    }


def batch(forms: LayerForms, names: Mapping[str, str], loss: str, n: Printer) -> dict[str, Any]:
    count = len(forms.batch[0].per_example)
    reduction = forms.batch[0].reduction
    header = [r"\theta"] + [r"\partial %s^{(%d)}/\partial \theta" % (loss, k) for k in range(1, count + 1)]
    header.append(r"\text{%s}" % reduction)
    rows = [[names[g.parameter], *(n(v) for v in g.per_example), n(g.reduced)] for g in forms.batch]
    return {
        "title": "The mini-batch.",
        "text": (f"The loss is the {reduction} of the examples' losses, "
                 + (r"$%s = \frac{1}{%d} \sum_n %s^{(n)}$" % (loss, count, loss) if reduction == "mean"
                    else r"$%s = \sum_n %s^{(n)}$" % (loss, loss))
                 + f", so each gradient is the {reduction} of the examples' gradients."),
        "steps": [], "table": {"header": header, "rows": rows},
    }


def optimizer_table(steps: Sequence[Step], spec: OptimizerSpec, names: Mapping[str, str],
                    n: Printer) -> dict[str, Any]:
    shown = states_shown(spec)
    rows = [[str(s.number), names[p], *(n(state[k]) for k in shown)] for s in steps for p, state in s.states.items()]
    rules = {
        "sgd": (r"$g = \nabla_\theta L + \lambda \theta$, $b_1 = g$, $b_t = \mu b_{t-1} + (1 - \tau) g$, "
                r"$\theta \leftarrow \theta - \eta \, b_t$" + (r" (Nesterov: $\theta \leftarrow \theta - \eta (g + \mu b_t)$)" if spec.nesterov else "")
                if spec.momentum else r"$g = \nabla_\theta L + \lambda \theta$, $\theta \leftarrow \theta - \eta g$"),
        "rmsprop": (r"$g = \nabla_\theta L + \lambda \theta$, $v \leftarrow \alpha v + (1 - \alpha) g^{2}$, "
                    + (r"$b \leftarrow \mu b + g/(\sqrt{v} + \epsilon)$, $\theta \leftarrow \theta - \eta b$" if spec.momentum
                       else r"$\theta \leftarrow \theta - \eta \, g/(\sqrt{v} + \epsilon)$")),
        "adam": (r"$g = \nabla_\theta L + \lambda \theta$, $m \leftarrow \beta_1 m + (1 - \beta_1) g$, "
                 r"$v \leftarrow \beta_2 v + (1 - \beta_2) g^{2}$, $\hat{m} = m/(1 - \beta_1^{t})$, "
                 r"$\hat{v} = v/(1 - \beta_2^{t})$, $\theta \leftarrow \theta - \eta \, \hat{m}/(\sqrt{\hat{v}} + \epsilon)$"),
    }
    g = lambda v: format_number(v, 6)  # noqa: E731  (a given setting, as written)
    settings = {"sgd": rf"$\eta = {g(spec.lr)}$, $\mu = {g(spec.momentum)}$, $\tau = {g(spec.dampening)}$, $\lambda = {g(spec.weight_decay)}$",
                "rmsprop": rf"$\eta = {g(spec.lr)}$, $\alpha = {g(spec.alpha)}$, $\epsilon = {g(spec.eps)}$, $\mu = {g(spec.momentum)}$, $\lambda = {g(spec.weight_decay)}$",
                "adam": rf"$\eta = {g(spec.lr)}$, $\beta_1 = {g(spec.betas[0])}$, $\beta_2 = {g(spec.betas[1])}$, $\epsilon = {g(spec.eps)}$, $\lambda = {g(spec.weight_decay)}$"}
    title = {"sgd": "SGD", "rmsprop": "RMSprop", "adam": "Adam"}[spec.name]
    return {
        "title": f"{title}, {len(steps)} step{'s' if len(steps) > 1 else ''}.",
        "text": f"{rules[spec.name]}, with {settings[spec.name]}. Each step's gradient is taken at the parameters the step starts from; the loss before each step: "
                + ", ".join(f"step {s.number}: ${n(s.loss)}$" for s in steps) + ".",
        "steps": [],
        "table": {"header": ["t", r"\theta", *(STATE_LATEX[k] for k in shown)], "rows": rows},
    }

