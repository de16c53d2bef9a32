{#- 2^x for a DOUBLE x, with the same bits on every engine (docs/decisions.md,
    "Time decay: 2^x with + - * / only").

    `pow(2, x)` is the engines' own: DuckDB calls the C library's, Spark Java's
    StrictMath.pow (fdlibm). Both are within 1 ulp of the true value, and they
    disagree in the last bit for about one argument in ten, so the time-decay
    weights built on Spark were not those built on DuckDB. This macro uses only
    what IEEE 754 defines bit for bit (+ - * /, floor, comparisons) in one fixed
    order, so DuckDB, Spark and any IEEE engine return the same double:

      k = x rounded to an integer (halves go up), g = x - k in [-1/2, 1/2]
          (exact: no rounding);
      2^g = sum of (g ln 2)^i / i! for i = 0..13, in Horner form with the
          coefficients ln2^i / i! given to 17 digits (the first term left out
          is below 2^-60 of the result);
      2^k = the product of the powers 2^(+-2^b) for the bits b of |k|: each an
          exact double, so the product is exact (or rounds once, subnormal).

    Measured against a 200-bit reference over 250,000 arguments in [-60, 0]:
    never more than 1 ulp from the true value (so is `pow`), and equal to
    DuckDB's `pow` for nine arguments in ten (tests/test_dbt_unit.py).
    Exact where the true value is a double: 2^-2 is 0.25.
    Domain: x up to 1023 (2^1024 overflows a double); below -1075 the result
    is 0, as 2^x rounds to; above 1023 and for null it is null.

    Plain Jinja (tests/test_dbt_unit.py renders it without dbt). `x` is
    repeated: pass a column or a cheap expression. -#}
{% macro exp2(x) -%}
    {%- set coefficients = [
        '1.0', '0.6931471805599453', '0.24022650695910072', '0.05550410866482158',
        '0.009618129107628477', '0.0013333558146428443', '0.0001540353039338161',
        '1.5252733804059841e-05', '1.321548679014431e-06', '1.01780860092397e-07',
        '7.054911620801123e-09', '4.4455382718708116e-10', '2.5678435993488206e-11',
        '1.3691488853904128e-12'] -%}
    {%- set k -%}
        (floor({{ x }}) + case when ({{ x }}) - floor({{ x }}) > 0.5 then 1 else 0 end)
    {%- endset -%}
    {%- set g %}(({{ x }}) - {{ k }}){% endset -%}
    {%- set ns = namespace(horner="cast('" ~ coefficients[-1] ~ "' as double)") -%}
    {%- for coefficient in coefficients[:-1] | reverse -%}
        {%- set ns.horner = "(" ~ ns.horner ~ " * " ~ g ~ " + cast('" ~ coefficient ~ "' as double))" -%}
    {%- endfor -%}
    (case
        when ({{ x }}) < -1075 then cast(0 as double)
        when ({{ x }}) > 1023 then cast(null as double)
        else {{ ns.horner }}
        {%- for bit in range(11) %}
            * case when (abs(cast({{ k }} as bigint)) & {{ 2 ** bit }}) = 0 then cast(1 as double)
                when {{ k }} < 0 then cast('{{ 2.0 ** -(2 ** bit) }}' as double)
                else cast('{{ 2.0 ** (2 ** bit) if bit < 10 else 0 }}' as double) end
        {%- endfor %}
    end)
{%- endmacro %}
