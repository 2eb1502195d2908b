"""Mutants and accepted variants of 05_trpo_ppo.

Each function is pasted into the answer cell of the graded function it names; it may use only
the names the notebook's setup cell defines (math, Callable, plt, np, torch, nn, utils, Rollout).
"""

# torch and friends come from the notebook's setup cell; each entry redefines its function.
# ruff: noqa: F811, F821

from __future__ import annotations

from autograde.mutants import accepted, mutant

# ------------------------------------------------------------------ flat_grad


@mutant("flat_grad", "ignores create_graph: the result can never be differentiated again")
def flat_grad(output, parameters, create_graph=False):
    parameters = list(parameters)
    gradients = torch.autograd.grad(output, parameters, allow_unused=True)
    return torch.cat(
        [
            torch.zeros(p.numel(), dtype=p.dtype) if g is None else g.reshape(-1)
            for p, g in zip(parameters, gradients, strict=True)
        ]
    )


@mutant("flat_grad", "backward() and .grad: adds to the gradients already stored")
def flat_grad(output, parameters, create_graph=False):
    parameters = list(parameters)
    output.backward(create_graph=create_graph)
    return torch.cat(
        [
            torch.zeros(p.numel(), dtype=p.dtype) if p.grad is None else p.grad.reshape(-1)
            for p in parameters
        ]
    )


@mutant("flat_grad", "drops the parameters without a gradient instead of zeros")
def flat_grad(output, parameters, create_graph=False):
    gradients = torch.autograd.grad(
        output, list(parameters), create_graph=create_graph, allow_unused=True
    )
    return torch.cat([g.reshape(-1) for g in gradients if g is not None])


@mutant("flat_grad", "concatenates the parameters in reverse order")
def flat_grad(output, parameters, create_graph=False):
    parameters = list(parameters)
    gradients = torch.autograd.grad(
        output, parameters, create_graph=create_graph, allow_unused=True
    )
    pieces = [
        torch.zeros(p.numel(), dtype=p.dtype) if g is None else g.reshape(-1)
        for p, g in zip(parameters, gradients, strict=True)
    ]
    return torch.cat(pieces[::-1])


@accepted("flat_grad", "a loop with flatten() and zeros_like for unused parameters")
def flat_grad(output, parameters, create_graph=False):
    parameters = list(parameters)
    gradients = torch.autograd.grad(
        output, parameters, create_graph=create_graph, allow_unused=True
    )
    pieces = []
    for parameter, gradient in zip(parameters, gradients, strict=True):
        if gradient is None:
            gradient = torch.zeros_like(parameter)
        pieces.append(gradient.flatten())
    return torch.cat(pieces)


@accepted("flat_grad", "materialize_grads=True and view(-1) on contiguous gradients")
def flat_grad(output, parameters, create_graph=False):
    gradients = torch.autograd.grad(
        output, list(parameters), create_graph=create_graph, materialize_grads=True
    )
    return torch.cat([gradient.contiguous().view(-1) for gradient in gradients])


# ------------------------------------------------------------------ fisher_vector_product


@mutant("fisher_vector_product", "forgets the damping")
def fisher_vector_product(kl, parameters, vector, damping):
    parameters = list(parameters)
    gradients = torch.autograd.grad(kl, parameters, create_graph=True)
    flat = torch.cat([g.reshape(-1) for g in gradients])
    second = torch.autograd.grad(flat @ vector, parameters)
    return torch.cat([g.reshape(-1) for g in second])


@mutant("fisher_vector_product", "outer product of the KL's gradient: (g . v) g, zero at theta_old")
def fisher_vector_product(kl, parameters, vector, damping):
    gradients = torch.autograd.grad(kl, list(parameters))
    flat = torch.cat([g.reshape(-1) for g in gradients])
    return (flat @ vector) * flat + damping * vector


@mutant("fisher_vector_product", "damping times F v instead of plus damping times v")
def fisher_vector_product(kl, parameters, vector, damping):
    parameters = list(parameters)
    gradients = torch.autograd.grad(kl, parameters, create_graph=True)
    flat = torch.cat([g.reshape(-1) for g in gradients])
    second = torch.autograd.grad(flat @ vector, parameters)
    return (1 + damping) * torch.cat([g.reshape(-1) for g in second])


@mutant("fisher_vector_product", "keeps the graph: the product carries gradient")
def fisher_vector_product(kl, parameters, vector, damping):
    parameters = list(parameters)
    gradients = torch.autograd.grad(kl, parameters, create_graph=True)
    flat = torch.cat([g.reshape(-1) for g in gradients])
    second = torch.autograd.grad(flat @ vector, parameters, create_graph=True)
    return torch.cat([g.reshape(-1) for g in second]) + damping * vector


@accepted("fisher_vector_product", "vector-Jacobian product with grad_outputs, split per parameter")
def fisher_vector_product(kl, parameters, vector, damping):
    parameters = list(parameters)
    gradients = torch.autograd.grad(kl, parameters, create_graph=True)
    pieces = vector.split([p.numel() for p in parameters])
    grad_outputs = [piece.view_as(p) for piece, p in zip(pieces, parameters, strict=True)]
    products = torch.autograd.grad(gradients, parameters, grad_outputs=grad_outputs)
    return torch.cat([p.flatten() for p in products]).detach() + damping * vector


@accepted("fisher_vector_product", "the dot product summed parameter by parameter")
def fisher_vector_product(kl, parameters, vector, damping):
    parameters = list(parameters)
    gradients = torch.autograd.grad(kl, parameters, create_graph=True)
    dot, start = 0.0, 0
    for gradient in gradients:
        size = gradient.numel()
        dot = dot + (gradient.reshape(-1) * vector[start : start + size]).sum()
        start += size
    second = torch.autograd.grad(dot, parameters)
    result = torch.cat([g.reshape(-1) for g in second])
    return result + damping * vector


# ------------------------------------------------------------------ conjugate_gradient


@mutant("conjugate_gradient", "beta inverted: old r.r over new r.r")
def conjugate_gradient(matvec, b, num_iterations=10, residual_tolerance=1e-10):
    x = torch.zeros_like(b)
    r = b.clone()
    p = b.clone()
    rr = r @ r
    for _ in range(num_iterations):
        if rr <= residual_tolerance:
            break
        Ap = matvec(p)
        alpha = rr / (p @ Ap)
        x = x + alpha * p
        r = r - alpha * Ap
        new_rr = r @ r
        p = r + (rr / new_rr) * p
        rr = new_rr
    return x


@mutant("conjugate_gradient", "steepest descent: the new direction is the residual alone")
def conjugate_gradient(matvec, b, num_iterations=10, residual_tolerance=1e-10):
    x = torch.zeros_like(b)
    r = b.clone()
    for _ in range(num_iterations):
        rr = r @ r
        if rr <= residual_tolerance:
            break
        Ar = matvec(r)
        alpha = rr / (r @ Ar)
        x = x + alpha * r
        r = r - alpha * Ar
    return x


@mutant("conjugate_gradient", "no early stop: divides 0 by 0 once the system is solved")
def conjugate_gradient(matvec, b, num_iterations=10, residual_tolerance=1e-10):
    x = torch.zeros_like(b)
    r = b.clone()
    p = b.clone()
    rr = r @ r
    for _ in range(num_iterations):
        Ap = matvec(p)
        alpha = rr / (p @ Ap)
        x = x + alpha * p
        r = r - alpha * Ap
        new_rr = r @ r
        p = r + (new_rr / rr) * p
        rr = new_rr
    return x


@mutant("conjugate_gradient", "moves x along the residual instead of the direction")
def conjugate_gradient(matvec, b, num_iterations=10, residual_tolerance=1e-10):
    x = torch.zeros_like(b)
    r = b.clone()
    p = b.clone()
    rr = r @ r
    for _ in range(num_iterations):
        if rr <= residual_tolerance:
            break
        Ap = matvec(p)
        alpha = rr / (p @ Ap)
        x = x + alpha * r
        r = r - alpha * Ap
        new_rr = r @ r
        p = r + (new_rr / rr) * p
        rr = new_rr
    return x


@accepted("conjugate_gradient", "recomputes the residual b - A x at every iteration")
def conjugate_gradient(matvec, b, num_iterations=10, residual_tolerance=1e-10):
    x = torch.zeros_like(b)
    r = b - matvec(x)
    p = r.clone()
    for _ in range(num_iterations):
        rr = torch.dot(r, r)
        if rr <= residual_tolerance:
            break
        Ap = matvec(p)
        alpha = rr / torch.dot(p, Ap)
        x = x + alpha * p
        r = b - matvec(x)
        p = r + (torch.dot(r, r) / rr) * p
    return x


@accepted("conjugate_gradient", "a while loop with the stopping test at the end, in place updates")
def conjugate_gradient(matvec, b, num_iterations=10, residual_tolerance=1e-10):
    x = b.new_zeros(b.shape)
    r = b.clone()
    p = b.clone()
    rr = float(r @ r)
    iteration = 0
    while iteration < num_iterations and rr > residual_tolerance:
        Ap = matvec(p)
        alpha = rr / float(p @ Ap)
        x += alpha * p
        r -= alpha * Ap
        new_rr = float(r @ r)
        p = r + (new_rr / rr) * p
        rr = new_rr
        iteration += 1
    return x


# ------------------------------------------------------------------ natural_step


@mutant("natural_step", "forgets the factor 2: the step reaches only half of max_kl")
def natural_step(direction, fisher_vector_product_fn, max_kl):
    return torch.sqrt(max_kl / (direction @ fisher_vector_product_fn(direction))) * direction


@mutant("natural_step", "the curvature s^T s instead of s^T F s")
def natural_step(direction, fisher_vector_product_fn, max_kl):
    return torch.sqrt(2 * max_kl / (direction @ direction)) * direction


@mutant("natural_step", "no square root")
def natural_step(direction, fisher_vector_product_fn, max_kl):
    return 2 * max_kl / (direction @ fisher_vector_product_fn(direction)) * direction


@mutant("natural_step", "returns the scale beta without the direction")
def natural_step(direction, fisher_vector_product_fn, max_kl):
    beta = torch.sqrt(2 * max_kl / (direction @ fisher_vector_product_fn(direction)))
    return beta * torch.ones_like(direction)


@accepted("natural_step", "math.sqrt of a Python float, ** 0.5 written as a division")
def natural_step(direction, fisher_vector_product_fn, max_kl):
    curvature = float((direction * fisher_vector_product_fn(direction)).sum())
    return direction * math.sqrt(max_kl / (0.5 * curvature))


@accepted("natural_step", "(2 delta / sFs) ** 0.5 with torch.dot")
def natural_step(direction, fisher_vector_product_fn, max_kl):
    s_f_s = torch.dot(direction, fisher_vector_product_fn(direction))
    return (2 * max_kl / s_f_s) ** 0.5 * direction


# ------------------------------------------------------------------ line_search


@mutant("line_search", "ignores the KL: accepts the first step that improves the surrogate")
def line_search(surrogate_fn, kl_fn, parameters, full_step, max_kl, shrink=0.5, max_backtracks=10):
    old = surrogate_fn(parameters)
    for k in range(max_backtracks + 1):
        candidate = parameters + shrink**k * full_step
        if surrogate_fn(candidate) > old:
            return candidate
    return parameters.clone()


@mutant("line_search", "ignores the surrogate: accepts the first step inside the trust region")
def line_search(surrogate_fn, kl_fn, parameters, full_step, max_kl, shrink=0.5, max_backtracks=10):
    for k in range(max_backtracks + 1):
        candidate = parameters + shrink**k * full_step
        if kl_fn(candidate) <= max_kl:
            return candidate
    return parameters.clone()


@mutant("line_search", "returns the last, smallest step when none is accepted")
def line_search(surrogate_fn, kl_fn, parameters, full_step, max_kl, shrink=0.5, max_backtracks=10):
    old = surrogate_fn(parameters)
    candidate = parameters
    for k in range(max_backtracks + 1):
        candidate = parameters + shrink**k * full_step
        if surrogate_fn(candidate) > old and kl_fn(candidate) <= max_kl:
            return candidate
    return candidate


@mutant("line_search", "off by one: never tries the fraction shrink^max_backtracks")
def line_search(surrogate_fn, kl_fn, parameters, full_step, max_kl, shrink=0.5, max_backtracks=10):
    old = surrogate_fn(parameters)
    for k in range(max_backtracks):
        candidate = parameters + shrink**k * full_step
        if surrogate_fn(candidate) > old and kl_fn(candidate) <= max_kl:
            return candidate
    return parameters.clone()


@mutant("line_search", "updates the parameters in place")
def line_search(surrogate_fn, kl_fn, parameters, full_step, max_kl, shrink=0.5, max_backtracks=10):
    old = surrogate_fn(parameters)
    start = parameters.clone()
    for k in range(max_backtracks + 1):
        parameters.copy_(start + shrink**k * full_step)
        if surrogate_fn(parameters) > old and kl_fn(parameters) <= max_kl:
            return parameters
    parameters.copy_(start)
    return parameters


@accepted("line_search", "a while loop that multiplies the step itself, KL tested first")
def line_search(surrogate_fn, kl_fn, parameters, full_step, max_kl, shrink=0.5, max_backtracks=10):
    baseline = float(surrogate_fn(parameters))
    step = full_step.clone()
    tries = 0
    while tries <= max_backtracks:
        candidate = parameters + step
        if float(kl_fn(candidate)) <= max_kl and float(surrogate_fn(candidate)) > baseline:
            return candidate
        step = step * shrink
        tries += 1
    return parameters


@accepted("line_search", "the fractions listed first, improvement computed as a difference")
def line_search(surrogate_fn, kl_fn, parameters, full_step, max_kl, shrink=0.5, max_backtracks=10):
    fractions = [shrink**k for k in range(max_backtracks + 1)]
    old = surrogate_fn(parameters)
    for fraction in fractions:
        candidate = parameters + fraction * full_step
        improvement = surrogate_fn(candidate) - old
        if improvement > 0 and kl_fn(candidate) <= max_kl:
            return candidate
    return parameters.detach().clone()


# ------------------------------------------------------------------ ppo_penalty_loss


@mutant("ppo_penalty_loss", "the naive KL estimate -log r instead of (r - 1) - log r")
def ppo_penalty_loss(new_log_probs, old_log_probs, advantages, beta):
    log_ratio = new_log_probs - old_log_probs.detach()
    ratio = log_ratio.exp()
    return -(ratio * advantages.detach()).mean() + beta * (-log_ratio).mean()


@mutant("ppo_penalty_loss", "the penalty with the wrong sign: rewards moving away")
def ppo_penalty_loss(new_log_probs, old_log_probs, advantages, beta):
    log_ratio = new_log_probs - old_log_probs.detach()
    ratio = log_ratio.exp()
    return -(ratio * advantages.detach()).mean() - beta * ((ratio - 1) - log_ratio).mean()


@mutant("ppo_penalty_loss", "the ratio inverted: pi_old / pi_theta")
def ppo_penalty_loss(new_log_probs, old_log_probs, advantages, beta):
    log_ratio = old_log_probs.detach() - new_log_probs
    ratio = log_ratio.exp()
    return -(ratio * advantages.detach()).mean() + beta * ((ratio - 1) - log_ratio).mean()


@mutant("ppo_penalty_loss", "does not detach the old log-probabilities")
def ppo_penalty_loss(new_log_probs, old_log_probs, advantages, beta):
    log_ratio = new_log_probs - old_log_probs
    ratio = log_ratio.exp()
    return -(ratio * advantages.detach()).mean() + beta * ((ratio - 1) - log_ratio).mean()


@accepted("ppo_penalty_loss", "the ratio as exp(new) / exp(old), expm1 for r - 1")
def ppo_penalty_loss(new_log_probs, old_log_probs, advantages, beta):
    old = old_log_probs.detach()
    ratio = new_log_probs.exp() / old.exp()
    kl = torch.expm1(new_log_probs - old) - (new_log_probs - old)
    return (beta * kl - ratio * advantages.detach()).mean()


@accepted("ppo_penalty_loss", "sums divided by the batch size, with torch.no_grad for the data")
def ppo_penalty_loss(new_log_probs, old_log_probs, advantages, beta):
    with torch.no_grad():
        old = old_log_probs.clone()
        weights = advantages.clone()
    ratio = torch.exp(new_log_probs - old)
    objective = (ratio * weights).sum() - beta * (ratio - 1 - torch.log(ratio)).sum()
    return -objective / new_log_probs.shape[0]


# ------------------------------------------------------------------ adapt_kl_penalty


@mutant("adapt_kl_penalty", "inverted: halves beta when the KL is too large")
def adapt_kl_penalty(beta, kl, kl_target):
    if kl > 1.5 * kl_target:
        return beta / 2
    if kl < kl_target / 1.5:
        return beta * 2
    return beta


@mutant("adapt_kl_penalty", "no band: compares the KL with the target itself")
def adapt_kl_penalty(beta, kl, kl_target):
    return beta * 2 if kl > kl_target else beta / 2


@mutant("adapt_kl_penalty", "changes beta by a factor 1.5 instead of 2")
def adapt_kl_penalty(beta, kl, kl_target):
    if kl < kl_target / 1.5:
        return beta / 1.5
    if kl > 1.5 * kl_target:
        return beta * 1.5
    return beta


@accepted("adapt_kl_penalty", "one expression with a multiplier")
def adapt_kl_penalty(beta, kl, kl_target):
    multiplier = 0.5 if 1.5 * kl < kl_target else (2.0 if kl > 1.5 * kl_target else 1.0)
    return float(beta * multiplier)


@accepted("adapt_kl_penalty", "the ratio kl / kl_target tested, elif chain")
def adapt_kl_penalty(beta, kl, kl_target):
    ratio = kl / kl_target
    if ratio > 1.5:
        beta = beta * 2.0
    elif ratio < 1 / 1.5:
        beta = beta * 0.5
    return beta


# ------------------------------------------------------------------ ppo_clip_loss


@mutant("ppo_clip_loss", "max instead of min: the optimistic bound")
def ppo_clip_loss(new_log_probs, old_log_probs, advantages, clip_eps):
    ratio = torch.exp(new_log_probs - old_log_probs.detach())
    clipped = torch.clamp(ratio, 1 - clip_eps, 1 + clip_eps)
    return -torch.max(ratio * advantages, clipped * advantages).mean()


@mutant("ppo_clip_loss", "clips the advantage instead of the ratio")
def ppo_clip_loss(new_log_probs, old_log_probs, advantages, clip_eps):
    ratio = torch.exp(new_log_probs - old_log_probs.detach())
    clipped = ratio * torch.clamp(advantages, -clip_eps, clip_eps)
    return -torch.min(ratio * advantages, clipped).mean()


@mutant("ppo_clip_loss", "the ratio inverted: pi_old / pi_theta")
def ppo_clip_loss(new_log_probs, old_log_probs, advantages, clip_eps):
    ratio = torch.exp(old_log_probs.detach() - new_log_probs)
    clipped = torch.clamp(ratio, 1 - clip_eps, 1 + clip_eps)
    return -torch.min(ratio * advantages, clipped * advantages).mean()


@mutant("ppo_clip_loss", "clips the log-ratio to [-eps, eps] instead of the ratio")
def ppo_clip_loss(new_log_probs, old_log_probs, advantages, clip_eps):
    log_ratio = new_log_probs - old_log_probs.detach()
    clipped = torch.clamp(log_ratio, -clip_eps, clip_eps).exp()
    return -torch.min(log_ratio.exp() * advantages, clipped * advantages).mean()


@mutant("ppo_clip_loss", "returns the objective, not the loss (no minus sign)")
def ppo_clip_loss(new_log_probs, old_log_probs, advantages, clip_eps):
    ratio = torch.exp(new_log_probs - old_log_probs.detach())
    clipped = torch.clamp(ratio, 1 - clip_eps, 1 + clip_eps)
    return torch.min(ratio * advantages, clipped * advantages).mean()


@accepted("ppo_clip_loss", "torch.where on the sign of the advantage")
def ppo_clip_loss(new_log_probs, old_log_probs, advantages, clip_eps):
    ratio = (new_log_probs - old_log_probs.detach()).exp()
    advantages = advantages.detach()
    bounded = torch.where(
        advantages >= 0, torch.clamp(ratio, max=1 + clip_eps), torch.clamp(ratio, min=1 - clip_eps)
    )
    return -(bounded * advantages).mean()


@accepted("ppo_clip_loss", "torch.minimum, clamp written with min and max, sum / n")
def ppo_clip_loss(new_log_probs, old_log_probs, advantages, clip_eps):
    ratio = torch.exp(new_log_probs - old_log_probs.detach())
    a = advantages.detach()
    clipped_ratio = torch.max(
        torch.min(ratio, torch.tensor(1 + clip_eps)), torch.tensor(1 - clip_eps)
    )
    surrogate = torch.minimum(ratio * a, clipped_ratio * a)
    return -surrogate.sum() / surrogate.numel()


# ------------------------------------------------------------------ approx_kl


@mutant("approx_kl", "the naive estimate mean(old - new)")
def approx_kl(new_log_probs, old_log_probs):
    with torch.no_grad():
        return (old_log_probs - new_log_probs).mean()


@mutant("approx_kl", "the other direction: KL(pi_new || pi_old) estimated as mean(r log r - r + 1)")
def approx_kl(new_log_probs, old_log_probs):
    with torch.no_grad():
        log_ratio = new_log_probs - old_log_probs
        ratio = log_ratio.exp()
        return (ratio * log_ratio - ratio + 1).mean()


@mutant("approx_kl", "keeps the gradient")
def approx_kl(new_log_probs, old_log_probs):
    log_ratio = new_log_probs - old_log_probs
    return ((log_ratio.exp() - 1) - log_ratio).mean()


@mutant("approx_kl", "sums instead of averaging")
def approx_kl(new_log_probs, old_log_probs):
    with torch.no_grad():
        log_ratio = new_log_probs - old_log_probs
        return ((log_ratio.exp() - 1) - log_ratio).sum()


@accepted("approx_kl", "expm1, detached inputs, a Python float")
def approx_kl(new_log_probs, old_log_probs):
    log_ratio = new_log_probs.detach() - old_log_probs.detach()
    return float((torch.expm1(log_ratio) - log_ratio).mean())


@accepted("approx_kl", "the ratio from exp(new) / exp(old), sum / n, detached at the end")
def approx_kl(new_log_probs, old_log_probs):
    ratio = new_log_probs.exp() / old_log_probs.exp()
    per_sample = ratio - 1 - torch.log(ratio)
    return (per_sample.sum() / per_sample.numel()).detach()


# ------------------------------------------------------------------ clip_fraction


@mutant("clip_fraction", "counts only ratios above 1 + eps")
def clip_fraction(new_log_probs, old_log_probs, clip_eps):
    with torch.no_grad():
        ratio = (new_log_probs - old_log_probs).exp()
        return (ratio > 1 + clip_eps).float().mean()


@mutant("clip_fraction", "tests |log r| > eps instead of |r - 1| > eps")
def clip_fraction(new_log_probs, old_log_probs, clip_eps):
    with torch.no_grad():
        return ((new_log_probs - old_log_probs).abs() > clip_eps).float().mean()


@mutant("clip_fraction", "counts the clipped samples instead of their share")
def clip_fraction(new_log_probs, old_log_probs, clip_eps):
    with torch.no_grad():
        ratio = (new_log_probs - old_log_probs).exp()
        return ((ratio - 1).abs() > clip_eps).float().sum()


@accepted("clip_fraction", "two comparisons or-ed, sum / n, a Python float")
def clip_fraction(new_log_probs, old_log_probs, clip_eps):
    ratio = torch.exp(new_log_probs.detach() - old_log_probs.detach())
    outside = (ratio < 1 - clip_eps) | (ratio > 1 + clip_eps)
    return outside.sum().item() / outside.numel()


@accepted("clip_fraction", "NumPy")
def clip_fraction(new_log_probs, old_log_probs, clip_eps):
    ratio = np.exp(new_log_probs.detach().cpu().numpy() - old_log_probs.detach().cpu().numpy())
    return float(np.mean(np.abs(ratio - 1) > clip_eps))


# ------------------------------------------------------------------ ppo_value_loss


@mutant("ppo_value_loss", "min instead of max of the two errors")
def ppo_value_loss(values, old_values, returns, clip_eps=None):
    errors = (values - returns.detach()) ** 2
    if clip_eps is None:
        return errors.mean()
    clipped = old_values.detach() + torch.clamp(values - old_values.detach(), -clip_eps, clip_eps)
    return torch.min(errors, (clipped - returns.detach()) ** 2).mean()


@mutant("ppo_value_loss", "clips the values around the returns instead of the old values")
def ppo_value_loss(values, old_values, returns, clip_eps=None):
    returns = returns.detach()
    errors = (values - returns) ** 2
    if clip_eps is None:
        return errors.mean()
    clipped = returns + torch.clamp(values - returns, -clip_eps, clip_eps)
    return torch.max(errors, (clipped - returns) ** 2).mean()


@mutant("ppo_value_loss", "half the mean squared error")
def ppo_value_loss(values, old_values, returns, clip_eps=None):
    errors = (values - returns.detach()) ** 2
    if clip_eps is None:
        return 0.5 * errors.mean()
    clipped = old_values.detach() + torch.clamp(values - old_values.detach(), -clip_eps, clip_eps)
    return 0.5 * torch.max(errors, (clipped - returns.detach()) ** 2).mean()


@mutant("ppo_value_loss", "does not detach the returns")
def ppo_value_loss(values, old_values, returns, clip_eps=None):
    errors = (values - returns) ** 2
    if clip_eps is None:
        return errors.mean()
    clipped = old_values.detach() + torch.clamp(values - old_values.detach(), -clip_eps, clip_eps)
    return torch.max(errors, (clipped - returns) ** 2).mean()


@accepted("ppo_value_loss", "F.mse_loss and torch.maximum, clamp as min/max of old +- eps")
def ppo_value_loss(values, old_values, returns, clip_eps=None):
    targets = returns.detach()
    if clip_eps is None:
        return torch.nn.functional.mse_loss(values, targets)
    old = old_values.detach()
    clipped = torch.min(torch.max(values, old - clip_eps), old + clip_eps)
    return torch.maximum((values - targets) ** 2, (clipped - targets) ** 2).mean()


@accepted("ppo_value_loss", "torch.where on which error is larger, sum / n")
def ppo_value_loss(values, old_values, returns, clip_eps=None):
    with torch.no_grad():
        targets = returns.clone()
        old = old_values.clone()
    plain = (values - targets).pow(2)
    if clip_eps is not None:
        clipped = (old + (values - old).clamp(-clip_eps, clip_eps) - targets).pow(2)
        plain = torch.where(clipped > plain, clipped, plain)
    return plain.sum() / plain.numel()


# ------------------------------------------------------------------ ppo_update


@mutant("ppo_update", "forgets optimizer.zero_grad(): gradients pile up across minibatches")
def ppo_update(
    policy, value_network, optimizer, rollout, policy_loss_fn, value_loss_fn, kl_fn,
    num_epochs, num_minibatches, value_coef, entropy_coef, max_grad_norm, target_kl,
):  # fmt: skip
    parameters = [*policy.parameters(), *value_network.parameters()]
    size = rollout.log_probs.shape[0]
    for epoch in range(num_epochs):
        for indices in torch.randperm(size).tensor_split(num_minibatches):
            distribution = policy.distribution(rollout.observations[indices])
            new_log_probs = distribution.log_prob(rollout.actions[indices])
            a = rollout.advantages[indices]
            a = (a - a.mean()) / (a.std() + 1e-8)
            loss = policy_loss_fn(new_log_probs, rollout.log_probs[indices], a)
            values = value_network(rollout.observations[indices])
            loss = loss + value_coef * value_loss_fn(
                values, rollout.values[indices], rollout.returns[indices]
            )
            loss = loss - entropy_coef * distribution.entropy().mean()
            loss.backward()
            nn.utils.clip_grad_norm_(parameters, max_grad_norm)
            optimizer.step()
        if target_kl is not None:
            with torch.no_grad():
                new = policy.log_prob(rollout.observations, rollout.actions)
            if kl_fn(new, rollout.log_probs) > target_kl:
                return epoch + 1
    return num_epochs


@mutant("ppo_update", "normalises the advantages over the whole rollout, not per minibatch")
def ppo_update(
    policy, value_network, optimizer, rollout, policy_loss_fn, value_loss_fn, kl_fn,
    num_epochs, num_minibatches, value_coef, entropy_coef, max_grad_norm, target_kl,
):  # fmt: skip
    parameters = [*policy.parameters(), *value_network.parameters()]
    size = rollout.log_probs.shape[0]
    everything = rollout.advantages
    normalised = (everything - everything.mean()) / (everything.std() + 1e-8)
    for epoch in range(num_epochs):
        for indices in torch.randperm(size).tensor_split(num_minibatches):
            distribution = policy.distribution(rollout.observations[indices])
            new_log_probs = distribution.log_prob(rollout.actions[indices])
            loss = policy_loss_fn(new_log_probs, rollout.log_probs[indices], normalised[indices])
            values = value_network(rollout.observations[indices])
            loss = loss + value_coef * value_loss_fn(
                values, rollout.values[indices], rollout.returns[indices]
            )
            loss = loss - entropy_coef * distribution.entropy().mean()
            optimizer.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(parameters, max_grad_norm)
            optimizer.step()
        if target_kl is not None:
            with torch.no_grad():
                new = policy.log_prob(rollout.observations, rollout.actions)
            if kl_fn(new, rollout.log_probs) > target_kl:
                return epoch + 1
    return num_epochs


@mutant("ppo_update", "shuffles once, before the epochs: the same minibatches every epoch")
def ppo_update(
    policy, value_network, optimizer, rollout, policy_loss_fn, value_loss_fn, kl_fn,
    num_epochs, num_minibatches, value_coef, entropy_coef, max_grad_norm, target_kl,
):  # fmt: skip
    parameters = [*policy.parameters(), *value_network.parameters()]
    size = rollout.log_probs.shape[0]
    minibatches = torch.randperm(size).tensor_split(num_minibatches)
    for epoch in range(num_epochs):
        for indices in minibatches:
            distribution = policy.distribution(rollout.observations[indices])
            new_log_probs = distribution.log_prob(rollout.actions[indices])
            a = rollout.advantages[indices]
            a = (a - a.mean()) / (a.std() + 1e-8)
            loss = policy_loss_fn(new_log_probs, rollout.log_probs[indices], a)
            values = value_network(rollout.observations[indices])
            loss = loss + value_coef * value_loss_fn(
                values, rollout.values[indices], rollout.returns[indices]
            )
            loss = loss - entropy_coef * distribution.entropy().mean()
            optimizer.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(parameters, max_grad_norm)
            optimizer.step()
        if target_kl is not None:
            with torch.no_grad():
                new = policy.log_prob(rollout.observations, rollout.actions)
            if kl_fn(new, rollout.log_probs) > target_kl:
                return epoch + 1
    return num_epochs


@mutant("ppo_update", "observations shuffled apart from the advantages and old log-probs")
def ppo_update(
    policy, value_network, optimizer, rollout, policy_loss_fn, value_loss_fn, kl_fn,
    num_epochs, num_minibatches, value_coef, entropy_coef, max_grad_norm, target_kl,
):  # fmt: skip
    parameters = [*policy.parameters(), *value_network.parameters()]
    size = rollout.log_probs.shape[0]
    for epoch in range(num_epochs):
        pairs = zip(
            torch.randperm(size).tensor_split(num_minibatches),
            torch.randperm(size).tensor_split(num_minibatches),
            strict=True,
        )
        for states, samples in pairs:
            distribution = policy.distribution(rollout.observations[states])
            new_log_probs = distribution.log_prob(rollout.actions[states])
            a = rollout.advantages[samples]
            a = (a - a.mean()) / (a.std() + 1e-8)
            loss = policy_loss_fn(new_log_probs, rollout.log_probs[samples], a)
            values = value_network(rollout.observations[states])
            loss = loss + value_coef * value_loss_fn(
                values, rollout.values[samples], rollout.returns[samples]
            )
            loss = loss - entropy_coef * distribution.entropy().mean()
            optimizer.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(parameters, max_grad_norm)
            optimizer.step()
        if target_kl is not None:
            with torch.no_grad():
                new = policy.log_prob(rollout.observations, rollout.actions)
            if kl_fn(new, rollout.log_probs) > target_kl:
                return epoch + 1
    return num_epochs


@mutant("ppo_update", "clips each network's gradient on its own")
def ppo_update(
    policy, value_network, optimizer, rollout, policy_loss_fn, value_loss_fn, kl_fn,
    num_epochs, num_minibatches, value_coef, entropy_coef, max_grad_norm, target_kl,
):  # fmt: skip
    size = rollout.log_probs.shape[0]
    for epoch in range(num_epochs):
        for indices in torch.randperm(size).tensor_split(num_minibatches):
            distribution = policy.distribution(rollout.observations[indices])
            new_log_probs = distribution.log_prob(rollout.actions[indices])
            a = rollout.advantages[indices]
            a = (a - a.mean()) / (a.std() + 1e-8)
            loss = policy_loss_fn(new_log_probs, rollout.log_probs[indices], a)
            values = value_network(rollout.observations[indices])
            loss = loss + value_coef * value_loss_fn(
                values, rollout.values[indices], rollout.returns[indices]
            )
            loss = loss - entropy_coef * distribution.entropy().mean()
            optimizer.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(policy.parameters(), max_grad_norm)
            nn.utils.clip_grad_norm_(value_network.parameters(), max_grad_norm)
            optimizer.step()
        if target_kl is not None:
            with torch.no_grad():
                new = policy.log_prob(rollout.observations, rollout.actions)
            if kl_fn(new, rollout.log_probs) > target_kl:
                return epoch + 1
    return num_epochs


@mutant("ppo_update", "ignores target_kl: never stops early")
def ppo_update(
    policy, value_network, optimizer, rollout, policy_loss_fn, value_loss_fn, kl_fn,
    num_epochs, num_minibatches, value_coef, entropy_coef, max_grad_norm, target_kl,
):  # fmt: skip
    parameters = [*policy.parameters(), *value_network.parameters()]
    size = rollout.log_probs.shape[0]
    for _ in range(num_epochs):
        for indices in torch.randperm(size).tensor_split(num_minibatches):
            distribution = policy.distribution(rollout.observations[indices])
            new_log_probs = distribution.log_prob(rollout.actions[indices])
            a = rollout.advantages[indices]
            a = (a - a.mean()) / (a.std() + 1e-8)
            loss = policy_loss_fn(new_log_probs, rollout.log_probs[indices], a)
            values = value_network(rollout.observations[indices])
            loss = loss + value_coef * value_loss_fn(
                values, rollout.values[indices], rollout.returns[indices]
            )
            loss = loss - entropy_coef * distribution.entropy().mean()
            optimizer.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(parameters, max_grad_norm)
            optimizer.step()
    return num_epochs


@mutant("ppo_update", "adds the entropy bonus to the loss: rewards certainty")
def ppo_update(
    policy, value_network, optimizer, rollout, policy_loss_fn, value_loss_fn, kl_fn,
    num_epochs, num_minibatches, value_coef, entropy_coef, max_grad_norm, target_kl,
):  # fmt: skip
    parameters = [*policy.parameters(), *value_network.parameters()]
    size = rollout.log_probs.shape[0]
    for epoch in range(num_epochs):
        for indices in torch.randperm(size).tensor_split(num_minibatches):
            distribution = policy.distribution(rollout.observations[indices])
            new_log_probs = distribution.log_prob(rollout.actions[indices])
            a = rollout.advantages[indices]
            a = (a - a.mean()) / (a.std() + 1e-8)
            loss = policy_loss_fn(new_log_probs, rollout.log_probs[indices], a)
            values = value_network(rollout.observations[indices])
            loss = loss + value_coef * value_loss_fn(
                values, rollout.values[indices], rollout.returns[indices]
            )
            loss = loss + entropy_coef * distribution.entropy().mean()
            optimizer.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(parameters, max_grad_norm)
            optimizer.step()
        if target_kl is not None:
            with torch.no_grad():
                new = policy.log_prob(rollout.observations, rollout.actions)
            if kl_fn(new, rollout.log_probs) > target_kl:
                return epoch + 1
    return num_epochs


@mutant("ppo_update", "new log-probabilities computed under no_grad: the policy never learns")
def ppo_update(
    policy, value_network, optimizer, rollout, policy_loss_fn, value_loss_fn, kl_fn,
    num_epochs, num_minibatches, value_coef, entropy_coef, max_grad_norm, target_kl,
):  # fmt: skip
    parameters = [*policy.parameters(), *value_network.parameters()]
    size = rollout.log_probs.shape[0]
    for epoch in range(num_epochs):
        for indices in torch.randperm(size).tensor_split(num_minibatches):
            distribution = policy.distribution(rollout.observations[indices])
            with torch.no_grad():
                new_log_probs = distribution.log_prob(rollout.actions[indices])
            a = rollout.advantages[indices]
            a = (a - a.mean()) / (a.std() + 1e-8)
            loss = policy_loss_fn(new_log_probs, rollout.log_probs[indices], a)
            values = value_network(rollout.observations[indices])
            loss = loss + value_coef * value_loss_fn(
                values, rollout.values[indices], rollout.returns[indices]
            )
            loss = loss - entropy_coef * distribution.entropy().mean()
            optimizer.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(parameters, max_grad_norm)
            optimizer.step()
        if target_kl is not None:
            with torch.no_grad():
                new = policy.log_prob(rollout.observations, rollout.actions)
            if kl_fn(new, rollout.log_probs) > target_kl:
                return epoch + 1
    return num_epochs


@accepted("ppo_update", "Python index lists sliced with a ceil size, population std, NumPy shuffle")
def ppo_update(
    policy, value_network, optimizer, rollout, policy_loss_fn, value_loss_fn, kl_fn,
    num_epochs, num_minibatches, value_coef, entropy_coef, max_grad_norm, target_kl,
):  # fmt: skip
    size = len(rollout.advantages)
    minibatch_size = math.ceil(size / num_minibatches)
    epochs_run = 0
    for _ in range(num_epochs):
        order = np.random.permutation(size).tolist()
        for start in range(0, size, minibatch_size):
            indices = torch.tensor(order[start : start + minibatch_size])
            observations = rollout.observations[indices]
            new_log_probs = policy.log_prob(observations, rollout.actions[indices])
            entropy = policy.distribution(observations).entropy()
            advantages = rollout.advantages[indices]
            advantages = (advantages - advantages.mean()) / (advantages.std(unbiased=False) + 1e-8)
            policy_loss = policy_loss_fn(new_log_probs, rollout.log_probs[indices], advantages)
            value_loss = value_loss_fn(
                value_network(observations), rollout.values[indices], rollout.returns[indices]
            )
            total = policy_loss + value_coef * value_loss - entropy_coef * entropy.mean()
            optimizer.zero_grad()
            total.backward()
            all_parameters = [p for group in optimizer.param_groups for p in group["params"]]
            torch.nn.utils.clip_grad_norm_(all_parameters, max_grad_norm)
            optimizer.step()
        epochs_run += 1
        if target_kl is not None:
            with torch.no_grad():
                kl = float(
                    kl_fn(policy.log_prob(rollout.observations, rollout.actions), rollout.log_probs)
                )
            if kl > target_kl:
                break
    return epochs_run


@accepted("ppo_update", "the gradient clipped by hand, minibatches from torch.chunk")
def ppo_update(
    policy, value_network, optimizer, rollout, policy_loss_fn, value_loss_fn, kl_fn,
    num_epochs, num_minibatches, value_coef, entropy_coef, max_grad_norm, target_kl,
):  # fmt: skip
    parameters = list(policy.parameters()) + list(value_network.parameters())
    for epoch in range(1, num_epochs + 1):
        permutation = torch.randperm(rollout.log_probs.numel())
        for indices in torch.chunk(permutation, num_minibatches):
            minibatch = {
                name: getattr(rollout, name)[indices]
                for name in [
                    "observations",
                    "actions",
                    "log_probs",
                    "values",
                    "advantages",
                    "returns",
                ]
            }
            distribution = policy.distribution(minibatch["observations"])
            advantages = minibatch["advantages"]
            advantages = (advantages - advantages.mean()) / (advantages.std() + 1e-8)
            loss = (
                policy_loss_fn(
                    distribution.log_prob(minibatch["actions"]), minibatch["log_probs"], advantages
                )
                + value_coef
                * value_loss_fn(
                    value_network(minibatch["observations"]),
                    minibatch["values"],
                    minibatch["returns"],
                )
                - entropy_coef * distribution.entropy().mean()
            )
            optimizer.zero_grad()
            loss.backward()
            with torch.no_grad():
                norm = torch.sqrt(sum((p.grad**2).sum() for p in parameters if p.grad is not None))
                scale = max_grad_norm / (norm + 1e-6)
                if scale < 1:
                    for p in parameters:
                        if p.grad is not None:
                            p.grad.mul_(scale)
            optimizer.step()
        if target_kl is not None:
            with torch.no_grad():
                new_log_probs = policy.log_prob(rollout.observations, rollout.actions)
                if kl_fn(new_log_probs, rollout.log_probs) > target_kl:
                    return epoch
    return num_epochs
