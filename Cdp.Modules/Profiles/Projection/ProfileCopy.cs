using Cdp.Modules.Shared.Modules;
using Cdp.Modules.Shared.Storage;
using Cdp.Modules.Shared.Storage.Copy;
using Microsoft.Extensions.DependencyInjection;

namespace Cdp.Modules.Profiles.Projection;

/// <summary>Profiles' part of <c>storage copy</c>: profiles (merged-away ones too), sealed timeline chunks, accounts.</summary>
[Service]
internal sealed class ProfileCopy : IStoreCopy
{
    public string Module => "Profiles";

    public IEnumerable<CopySet> Sets(IServiceProvider source, IServiceProvider target)
    {
        var from = source.GetRequiredService<IProfileStore>();
        var to = target.GetRequiredService<IProfileStore>();
        var tx = target.GetRequiredService<IUnitOfWorkFactory>();
        var limits = new ProfileLimits(); // an account keeps its own budget counts; the limits only matter for a record without them
        void Write(ProfileChanges changes) => tx.InTransaction(t => to.Write(t, changes));
        yield return CopySet.Of("profiles", from.All, to.All, c => Write(new ProfileChanges { NewProfiles = c }), p => p.ToBytes());
        yield return CopySet.Of("timeline chunks", from.AllChunks, to.AllChunks, c => Write(new ProfileChanges { Chunks = c.Select(x => (x.Id, (TimelinePart?)x.Part)).ToList() }),
            x => [.. BitConverter.GetBytes(x.Id), .. x.Part.Sequences, 0xFF, .. x.Part.Times ?? []]);
        yield return CopySet.Of("accounts", () => from.AllAccounts(limits), () => to.AllAccounts(limits), c => Write(new ProfileChanges { Accounts = c }),
            x => [.. System.Text.Encoding.UTF8.GetBytes(x.GroupId), 0xFF, .. x.Account.ToBytes()]);
    }
}
