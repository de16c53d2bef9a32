select
    cast(date_trunc('month', created_at) as date) as month,
    lead_source,
    count(*) as leads,
    count(*) filter (where sal_status = 'accepted') as sals,
    count(*) filter (where sal_status = 'rejected') as rejected,
    count(*) filter (where sal_status = 'undetermined') as undetermined,
    count(*) filter (where sal_status = 'accepted') / count(*) as lead_to_sal_pct,
    count(*) filter (where sal_status = 'undetermined') / count(*) as undetermined_pct
from {{ ref('fct_leads') }}
group by all
