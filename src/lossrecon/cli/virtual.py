"""``lossrecon virtual``: virtual polynomials of a node, their activation sets and factors."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console

from lossrecon.activations import activation_names
from lossrecon.cli.common import parse_ints, reports_errors


@reports_errors
def virtual(
    widths: Annotated[str, typer.Option(help="network widths, e.g. 2,2,1")],
    node: Annotated[str, typer.Option(help="node i,k: node i of layer k (1-based)")],
    activation: Annotated[
        str, typer.Option(help=f"one of {', '.join(activation_names())}")
    ] = "relu",
    latex: Annotated[bool, typer.Option(help="print LaTeX instead of plain text")] = False,
    factor: Annotated[
        bool, typer.Option(help="also factor each polynomial beside its P-active network")
    ] = False,
) -> None:
    """Print the virtual polynomials of type (i, k) with the activation sets giving each."""
    import sympy

    from lossrecon.symbolic import check_theorem_2_8, p_active_network, virtual_polynomials

    sizes = parse_ints(widths, "--widths")
    i, k = parse_ints(node, "--node", count=2)
    console = Console(highlight=False)
    show = sympy.latex if latex else sympy.sstr
    polys = virtual_polynomials(sizes, (i, k), activation=activation)
    console.print(f"[bold]virtual polynomials of type ({i},{k}), widths {sizes}[/bold]")
    for number, (poly, sets) in enumerate(polys.items(), start=1):
        console.print(f"\n[bold]{number}.[/bold] {show(poly)}")
        for aset in sets:
            console.print(f"   from {aset.paper_notation(sizes[0], activation)}")
        if factor:
            check = check_theorem_2_8(sizes, sets[0], (i, k), activation=activation)
            network = p_active_network(sizes, sets[0], (i, k), activation=activation)
            console.print(f"   P-active nodes per layer: {network}")
            if check.computed is None:
                console.print("   factors: none (the zero polynomial)")
            else:
                factors = " · ".join(f"({show(f)})" for f, _ in check.computed.factors)
                console.print(f"   factors: {show(check.computed.constant)} · {factors}")
            verdict = "agrees" if check.agrees else "[red]DISAGREES[/red]"
            console.print(f"   Theorem 2.8 prediction: {verdict}")
