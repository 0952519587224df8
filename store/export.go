package store

import (
	"cmp"
	"context"
	"slices"

	"github.com/digestbot/digestbot"
)

// GuildSchedules lists a guild's stored schedules, its default (ChannelID
// "") first, then by channel.
func (s *Store) GuildSchedules(ctx context.Context, guildID string) ([]*digestbot.ChannelSchedule, error) {
	if err := checkID("guild", guildID); err != nil {
		return nil, err
	}
	vals, err := s.rdb.HVals(ctx, s.guildKey(guildID, "schedules")).Result()
	if err != nil {
		return nil, s.fail("list schedules", err)
	}
	scs, err := decodeAll[digestbot.ChannelSchedule]("list schedules", vals)
	if err != nil {
		return nil, err
	}
	slices.SortFunc(scs, func(a, b *digestbot.ChannelSchedule) int { return cmp.Compare(a.ChannelID, b.ChannelID) })
	return scs, nil
}

// CheckID refuses an id the store cannot hold (a guild or channel id):
// empty, longer than 100 characters, or with braces, colons or spaces,
// which would break the key schema. EINVALID names kind.
func CheckID(kind, id string) error { return checkID(kind, id) }
